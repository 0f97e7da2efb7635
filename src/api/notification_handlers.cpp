// A user's notifications (model/notification.hpp) and their webhook: GET
// /api/v1/notifications, POST /api/v1/notifications/read, GET|PUT|DELETE /api/v1/me/webhook.
#include <charconv>

#include "api/api.hpp"
#include "core/json_input.hpp"
#include "core/random.hpp"

namespace gpupool::api {

using nlohmann::json;

namespace {

constexpr int kDefaultNotifications = 50;
constexpr int kMaxNotifications = 500;

}  // namespace

json Api::notifications_document(std::int64_t user_id, int newest) {
  json list = json::array();
  int unread = 0;
  if (auto found = store_.notifications(user_id, newest)) {
    for (const auto& notification : *found) {
      auto data = json::parse(notification.data, nullptr, false);
      list.push_back({{"id", notification.id},
                      {"at", format_rfc3339(notification.at)},
                      {"kind", to_string(notification.kind)},
                      {"session", notification.session_id},
                      {"message", notification.message},
                      {"data", data.is_object() ? data : json::object()},
                      {"read", notification.read}});
    }
  }
  if (auto count = store_.unread_notifications(user_id)) unread = *count;
  return {{"unread", unread}, {"notifications", list}};
}

HttpReply Api::list_notifications(const Call& call) {
  int limit = kDefaultNotifications;
  for (const auto& [key, value] : call.query) {
    if (key != "limit") continue;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), limit);
    if (error != std::errc() || end != value.data() + value.size() || limit < 1 ||
        limit > kMaxNotifications)
      return error_reply(ErrorCode::invalid_argument, "limit must be 1-500");
  }
  return json_reply(200, notifications_document(call.caller().user.id, limit));
}

HttpReply Api::read_notifications(const Call& call) {
  auto body = parse_json_object(call.exchange.body);
  if (!body) return error_reply(body.error());
  if (auto unknown = reject_unknown_fields(*body, {"up_to"}); !unknown)
    return error_reply(unknown.error());
  auto up_to = optional_integer(*body, "up_to", 0, std::int64_t{1} << 53);
  if (!up_to) return error_reply(up_to.error());
  if (!*up_to)
    return error_reply(ErrorCode::invalid_argument, "\"up_to\" (a notification id) is required");
  auto marked = store_.mark_notifications_read(call.caller().user.id, **up_to);
  if (!marked) return error_reply(marked.error());
  auto unread = store_.unread_notifications(call.caller().user.id);
  if (!unread) return error_reply(unread.error());
  return json_reply(200, {{"unread", *unread}});
}

HttpReply Api::get_webhook(const Call& call) {
  auto webhook = store_.webhook_of(call.caller().user.id);
  if (!webhook) return error_reply(webhook.error());
  if (!*webhook) return error_reply(ErrorCode::not_found, "no webhook is set");
  return json_reply(200, {{"url", (*webhook)->url}});
}

HttpReply Api::put_webhook(const Call& call) {
  auto body = parse_json_object(call.exchange.body);
  if (!body) return error_reply(body.error());
  if (auto unknown = reject_unknown_fields(*body, {"url"}); !unknown)
    return error_reply(unknown.error());
  auto url = required_string(*body, "url", 2000);
  if (!url) return error_reply(url.error());
  // Checked now for a clear answer, and again at each posting (the name may move).
  if (!settings_.check_webhook_url)
    return error_reply(ErrorCode::unavailable, "this server posts no webhooks");
  if (auto allowed = settings_.check_webhook_url(*url); !allowed)
    return error_reply(allowed.error());
  Webhook webhook{call.caller().user.id, *url, random_token(32)};
  if (auto stored = store_.set_webhook(webhook); !stored) return error_reply(stored.error());
  // The secret is shown this once: the receiver checks signatures with it.
  return json_reply(200, {{"url", webhook.url}, {"secret", webhook.secret}});
}

HttpReply Api::delete_webhook(const Call& call) {
  auto deleted = store_.delete_webhook(call.caller().user.id);
  if (!deleted) return error_reply(deleted.error());
  if (!*deleted) return error_reply(ErrorCode::not_found, "no webhook is set");
  return json_reply(200, {{"deleted", true}});
}

}  // namespace gpupool::api
