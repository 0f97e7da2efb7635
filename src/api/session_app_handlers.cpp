// The web apps a session serves through the gateway (services/session_apps.hpp): exposing a
// port, listing and removing them. The proxying itself is in proxy_handlers.cpp.
#include <charconv>

#include <fmt/format.h>

#include "api/api.hpp"
#include "core/json_input.hpp"

namespace gpupool::api {

using nlohmann::json;

namespace {

Result<std::vector<std::string>> names(const Json& body, std::string_view key) {
  if (!body.contains(key)) return std::vector<std::string>{};
  return required_string_array(body, key, services::kMaxAppSharees, 256);
}

Result<services::AppRequest> app_request(const std::string& text) {
  auto body = parse_json_object(text);
  if (!body) return body.error();
  GPUPOOL_TRY(reject_unknown_fields(*body, {"port", "keep_path", "users", "groups", "link_hours"}));
  services::AppRequest request;
  auto port = optional_integer(*body, "port", 1, 65535);
  if (!port) return port.error();
  if (!*port) return make_error(ErrorCode::invalid_argument, "port: required");
  request.port = static_cast<int>(**port);
  auto keep_path = optional_bool(*body, "keep_path");
  if (!keep_path) return keep_path.error();
  request.keep_path = keep_path->value_or(false);
  auto users = names(*body, "users");
  if (!users) return users.error();
  request.users = std::move(*users);
  auto groups = names(*body, "groups");
  if (!groups) return groups.error();
  request.groups = std::move(*groups);
  auto link_hours = optional_integer(*body, "link_hours", 0, services::kMaxAppLinkHours);
  if (!link_hours) return link_hours.error();
  request.link_hours = static_cast<int>(link_hours->value_or(0));
  return request;
}

}  // namespace

json Api::app_json(const SessionApp& app) const {
  return {{"port", app.port},
          {"url",
           fmt::format("{}/s/{}/apps/{}/", settings_.view.gateway_url, app.session_id, app.port)},
          {"keep_path", app.keep_path},
          {"shared_users", app.shared_users},
          {"shared_groups", app.shared_groups},
          {"link_expires_at",
           app.link_digest.empty() ? json(nullptr) : json(format_rfc3339(app.link_expires_at))},
          {"created_at", format_rfc3339(app.created_at)}};
}

HttpReply Api::expose_app(const Call& call) {
  auto request = app_request(call.exchange.body);
  if (!request) return error_reply(request.error());
  auto exposed = apps_.expose(call.caller().user, call.parameter("id"), *request);
  if (!exposed) return error_reply(exposed.error());
  json body = app_json(exposed->app);
  body["link"] = nullptr;
  if (!exposed->link_token.empty()) {
    auto origin = session_origin(exposed->app.session_id);
    if (!origin) return error_reply(origin.error());
    body["link"] = fmt::format("{}/s/{}/apps/{}/?{}={}", *origin, exposed->app.session_id,
                               exposed->app.port, kAppLinkParameter, exposed->link_token);
  }
  return json_reply(201, body);
}

HttpReply Api::list_apps(const Call& call) {
  auto apps = apps_.list(call.caller().user, call.parameter("id"));
  if (!apps) return error_reply(apps.error());
  json list = json::array();
  for (const auto& app : *apps) list.push_back(app_json(app));
  return json_reply(200, {{"apps", list}});
}

HttpReply Api::remove_app(const Call& call) {
  const std::string& text = call.parameter("port");
  int port = 0;
  auto parsed = std::from_chars(text.data(), text.data() + text.size(), port);
  if (parsed.ec != std::errc{} || parsed.ptr != text.data() + text.size())
    return error_reply(ErrorCode::not_found, "no such app");
  auto removed = apps_.remove(call.caller().user, call.parameter("id"), port);
  if (!removed) return error_reply(removed.error());
  return json_reply(200, {{"removed", port}});
}

}  // namespace gpupool::api
