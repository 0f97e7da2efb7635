// The audit log: what is recorded of each call, and GET /api/v1/audit for admins.
#include <charconv>

#include <fmt/format.h>

#include "api/api.hpp"
#include "gateway/request_origin.hpp"

namespace gpupool::api {

using nlohmann::json;

namespace {

constexpr int kMaxAuditPage = 1000;
constexpr std::size_t kMaxActorLength = 64;  // a failed sign-in's name is whatever was typed

// Routes whose writes change someone's credentials: recorded whoever calls them.
bool changes_credentials(std::string_view pattern) {
  return pattern.starts_with("/api/v1/auth/") || pattern.starts_with("/api/v1/tokens") ||
         pattern == "/api/v1/me/password" || pattern == "/api/v1/me/ssh-keys" ||
         pattern == "/api/v1/me/webhook" || pattern.starts_with("/api/v1/me/notify");
}

// Routes whose writes open a session to other people (a web app shared with users, a group,
// or anyone holding a link): recorded whoever calls them.
bool shares_a_session(std::string_view pattern) {
  return pattern.starts_with("/api/v1/sessions/{id}/apps");
}

// Routes whose request bodies hold no secret: what a successful call asked for is recorded
// (an image's roll-out step says which state it went to, an app who it is shared with).
bool records_request(std::string_view pattern) {
  return pattern.starts_with("/api/v1/images") || pattern.starts_with("/api/v1/image-rollouts") ||
         shares_a_session(pattern);
}

// Why a call was refused, from the error reply's JSON.
std::string refusal(const HttpReply& reply) {
  if (reply.status < 400) return "";
  auto body = json::parse(reply.body, nullptr, false);
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return "";
  return body["error"].value("message", "").substr(0, 300);
}

json audit_entry_view(const AuditEntry& entry) {
  return {{"id", entry.id},           {"at", format_rfc3339(entry.at)}, {"actor", entry.actor},
          {"source", entry.source},   {"action", entry.action},         {"target", entry.target},
          {"outcome", entry.outcome}, {"detail", entry.detail}};
}

}  // namespace

void Api::audit(const Call& call, const Route& route, const HttpReply& reply) {
  if (gateway::is_safe_method(call.exchange.method) || call.principal == nullptr) return;
  if (!call.principal->user.admin && !changes_credentials(route.pattern) &&
      !shares_a_session(route.pattern))
    return;
  std::string target;
  for (const auto& [key, value] : call.parameters)
    target += fmt::format("{}{}={}", target.empty() ? "" : " ", key, value);
  audit_.record({0, 0, call.principal->user.username, client_address(call.exchange),
                 fmt::format("{} {}", route.method, route.pattern), target, reply.status,
                 reply.status < 400 && records_request(route.pattern)
                     ? call.exchange.body.substr(0, 300)
                     : refusal(reply)});
}

void Api::audit_login(const HttpExchange& exchange, const std::string& username,
                      const HttpReply& reply) {
  audit_.record({0, 0, username.substr(0, kMaxActorLength), client_address(exchange),
                 reply.status == 200 ? "login" : "login failed", "", reply.status, refusal(reply)});
}

// GET /api/v1/audit?actor=&action=&since=RFC3339&before=ID&limit=N: newest first.
HttpReply Api::list_audit(const Call& call) {
  AuditFilter filter;
  for (const auto& [key, value] : call.query) {
    if (key == "actor") {
      filter.actor = value;
    } else if (key == "action") {
      filter.action_prefix = value;
    } else if (key == "since") {
      auto since = parse_rfc3339(value);
      if (!since)
        return error_reply(ErrorCode::invalid_argument, "since: " + since.error().message);
      filter.since = *since;
    } else if (key == "before" || key == "limit") {
      std::int64_t number = 0;
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
      if (error != std::errc() || end != value.data() + value.size() || number < 1 ||
          (key == "limit" && number > kMaxAuditPage))
        return error_reply(ErrorCode::invalid_argument,
                           fmt::format("{} must be a whole number from 1{}", key,
                                       key == "limit" ? " to 1000" : ""));
      if (key == "limit") {
        filter.limit = static_cast<int>(number);
      } else {
        filter.before_id = number;
      }
    } else {
      return error_reply(ErrorCode::invalid_argument,
                         "unknown parameter " + key + " (actor, action, since, before, limit)");
    }
  }
  auto entries = audit_.list(filter);
  if (!entries) return error_reply(entries.error());
  json list = json::array();
  for (const auto& entry : *entries) list.push_back(audit_entry_view(entry));
  bool more = static_cast<int>(entries->size()) == filter.limit;
  return json_reply(
      200, {{"entries", list}, {"next_before", more ? json(entries->back().id) : json(nullptr)}});
}

}  // namespace gpupool::api
