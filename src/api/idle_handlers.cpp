// Idle reclaim in the REST API: the owner's "keep it", an admin's exemption of one session,
// and idle policies for users and groups.
#include "api/api.hpp"
#include "core/json_input.hpp"

namespace gpupool::api {

using nlohmann::json;

namespace {

json idle_policy_view(const IdlePolicyRule& rule) {
  return {{"scope", rule.scope == QuotaScope::user ? "user" : "group"},
          {"name", rule.subject_name},
          {"window_minutes", optional_json(rule.window_minutes)},
          {"grace_minutes", optional_json(rule.grace_minutes)},
          {"keeps", optional_json(rule.keeps)},
          {"exempt", optional_json(rule.exempt)}};
}

// A field left out (or null) takes the server's default.
Result<IdlePolicyRule> parse_idle_policy(const json& body) {
  GPUPOOL_TRY(reject_unknown_fields(body, {"window_minutes", "grace_minutes", "keeps", "exempt"}));
  IdlePolicyRule rule;
  constexpr std::int64_t kYearMinutes = 366LL * 24 * 60;
  auto window = optional_integer(body, "window_minutes", 0, kYearMinutes);
  if (!window) return window.error();
  rule.window_minutes = *window;
  auto grace = optional_integer(body, "grace_minutes", 0, kYearMinutes);
  if (!grace) return grace.error();
  rule.grace_minutes = *grace;
  auto keeps = optional_integer(body, "keeps", 0, 1000);
  if (!keeps) return keeps.error();
  if (*keeps) rule.keeps = static_cast<int>(**keeps);
  auto exempt = optional_bool(body, "exempt");
  if (!exempt) return exempt.error();
  rule.exempt = *exempt;
  return rule;
}

}  // namespace

HttpReply Api::keep_session(const Call& call) {
  const std::string& id = call.parameter("id");
  if (id.size() > kMaxSessionIdLength) return error_reply(ErrorCode::not_found, "no such session");
  auto session = sessions_.keep_session(call.caller().user, id);
  if (!session) return error_reply(session.error());
  return json_reply(200, session_view(*session, view_context(), clock_.now()));
}

HttpReply Api::set_session_idle(const Call& call) {
  const std::string& id = call.parameter("id");
  if (id.size() > kMaxSessionIdLength) return error_reply(ErrorCode::not_found, "no such session");
  auto body = parse_json_object(call.exchange.body);
  if (!body) return error_reply(body.error());
  if (auto unknown = reject_unknown_fields(*body, {"exempt"}); !unknown)
    return error_reply(unknown.error());
  auto exempt = optional_bool(*body, "exempt");
  if (!exempt) return error_reply(exempt.error());
  if (!*exempt)
    return error_reply(ErrorCode::invalid_argument, "\"exempt\" (true or false) is required");
  auto session = sessions_.set_idle_exempt(id, **exempt);
  if (!session) return error_reply(session.error());
  return json_reply(200, session_view(*session, view_context(), clock_.now()));
}

HttpReply Api::list_idle_policies(const Call&) {
  auto rules = store_.list_idle_policies();
  if (!rules) return error_reply(rules.error());
  json list = json::array();
  for (const auto& rule : *rules) list.push_back(idle_policy_view(rule));
  return json_reply(200, {{"idle_policies", list}});
}

HttpReply Api::set_idle_policy(const Call& call) {
  auto body = parse_json_object(call.exchange.body);
  if (!body) return error_reply(body.error());
  auto rule = parse_idle_policy(*body);
  if (!rule) return error_reply(rule.error());
  auto stored =
      directory_.set_idle_policy(call.parameter("scope"), call.parameter("name"), std::move(*rule));
  if (!stored) return error_reply(stored.error());
  return json_reply(200, idle_policy_view(*stored));
}

HttpReply Api::delete_idle_policy(const Call& call) {
  auto deleted = directory_.delete_idle_policy(call.parameter("scope"), call.parameter("name"));
  if (!deleted) return error_reply(deleted.error());
  if (!*deleted) return error_reply(ErrorCode::not_found, "no idle policy of that user or group");
  return json_reply(200, {{"deleted", true}});
}

}  // namespace gpupool::api
