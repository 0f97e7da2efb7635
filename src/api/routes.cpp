// The route table: every path the gateway answers outside /s/, with who may call it. Read it
// top to bottom to know who may do what; the dispatcher below enforces it before any
// handler runs, so no handler can forget a check.
#include <fmt/format.h>
#include <boost/url/parse.hpp>

#include "api/api.hpp"
#include "gateway/proxy_route.hpp"

namespace gpupool::api {

const std::vector<Route>& Api::routes() {
  using enum Access;
  static const std::vector<Route> table{
      // Health checks and the portal's pages.
      {"GET", "/healthz", anyone, &Api::healthz},
      {"HEAD", "/healthz", anyone, &Api::healthz},
      {"GET", "/readyz", anyone, &Api::readyz},
      {"HEAD", "/readyz", anyone, &Api::readyz},
      {"GET", "/", anyone, &Api::web_page},
      {"HEAD", "/", anyone, &Api::web_page},
      {"GET", "/ui/{file...}", anyone, &Api::web_page},
      {"HEAD", "/ui/{file...}", anyone, &Api::web_page},

      // Signing in, and the caller's own credentials and profile.
      {"POST", "/api/v1/auth/login", anyone, &Api::login},
      {"GET", "/api/v1/auth/providers", anyone, &Api::auth_providers},
      {"GET", "/api/v1/auth/oidc/start", anyone, &Api::oidc_start},
      {"GET", "/api/v1/auth/oidc/callback", anyone, &Api::oidc_callback},
      {"POST", "/api/v1/auth/cli-confirm", anyone, &Api::cli_confirm},
      {"POST", "/api/v1/auth/cli-token", anyone, &Api::cli_token},
      {"POST", "/api/v1/auth/logout", user, &Api::logout},
      {"POST", "/api/v1/tokens", user, &Api::mint_token},
      {"GET", "/api/v1/tokens", user, &Api::list_tokens},
      {"POST", "/api/v1/tokens/renew", user, &Api::renew_token},
      {"DELETE", "/api/v1/tokens/{id}", user, &Api::revoke_token},
      {"GET", "/api/v1/me", user, &Api::me},
      {"PUT", "/api/v1/me/ssh-keys", user, &Api::put_ssh_keys},
      {"POST", "/api/v1/me/password", user, &Api::change_password},
      {"GET", "/api/v1/me/webhook", user, &Api::get_webhook},
      {"PUT", "/api/v1/me/webhook", user, &Api::put_webhook},
      {"DELETE", "/api/v1/me/webhook", user, &Api::delete_webhook},
      {"GET", "/api/v1/me/notify", user, &Api::get_notify_settings},
      {"PUT", "/api/v1/me/notify", user, &Api::put_notify_settings},
      {"POST", "/api/v1/me/notify/confirm", user, &Api::confirm_email},
      {"GET", "/api/v1/notifications", user, &Api::list_notifications},
      {"POST", "/api/v1/notifications/read", user, &Api::read_notifications},

      // Sessions: a user sees and stops only their own (another's is 404); admins any.
      // GET ?all=true lists everyone's, for admins only (checked in listed_sessions).
      {"POST", "/api/v1/sessions", user, &Api::create_session},
      {"GET", "/api/v1/sessions", user, &Api::list_sessions},
      {"GET", "/api/v1/sessions/{id}", user, &Api::get_session},
      {"GET", "/api/v1/sessions/{id}/log", user, &Api::session_log},
      {"GET", "/api/v1/sessions/{id}/apps", user, &Api::list_apps},
      {"POST", "/api/v1/sessions/{id}/apps", user, &Api::expose_app},
      {"DELETE", "/api/v1/sessions/{id}/apps/{port}", user, &Api::remove_app},
      {"DELETE", "/api/v1/sessions/{id}", user, &Api::stop_session},
      {"POST", "/api/v1/sessions/{id}/entry", user, &Api::enter_session_by_portal},
      // Idle reclaim: the owner's "keep it"; an admin's exemption of one session.
      {"POST", "/api/v1/sessions/{id}/keep", user, &Api::keep_session},
      {"PUT", "/api/v1/sessions/{id}/idle", admin, &Api::set_session_idle},
      {"GET", "/api/v1/pool", user, &Api::pool},
      // The catalog: users see what is open to them (admins everything); admins run it.
      {"GET", "/api/v1/images", user, &Api::images},
      {"POST", "/api/v1/images", admin, &Api::add_image},
      {"PATCH", "/api/v1/images/{tag}", admin, &Api::change_image},
      {"POST", "/api/v1/images/{tag}/check", admin, &Api::recheck_image},
      // A user's own images: their sessions saved.
      {"POST", "/api/v1/sessions/{id}/image", user, &Api::save_session_image},
      {"GET", "/api/v1/my-images", user, &Api::my_images},
      {"DELETE", "/api/v1/my-images/{name}", user, &Api::remove_my_image},
      // Families users may ask for instead of a tag; admins roll new images out through them.
      {"GET", "/api/v1/image-rollouts", user, &Api::list_rollouts},
      {"PUT", "/api/v1/image-rollouts/{family}", admin, &Api::put_rollout},
      {"POST", "/api/v1/image-rollouts/{family}/promote", admin, &Api::promote_rollout},
      {"POST", "/api/v1/image-rollouts/{family}/halt", admin, &Api::halt_rollout},
      {"DELETE", "/api/v1/image-rollouts/{family}", admin, &Api::delete_rollout},
      {"GET", "/api/v1/events", user, &Api::events},

      // Money: prices are public to users, set by admins; usage as for sessions (?all=true).
      {"GET", "/api/v1/prices", user, &Api::list_prices},
      // {model...}: a malformed name ("a/b", "") gets the handler's 400, not a 404.
      {"PUT", "/api/v1/prices/{model...}", admin, &Api::set_price},
      {"GET", "/api/v1/usage", user, &Api::usage},
      {"GET", "/api/v1/balance", user, &Api::balance},
      {"POST", "/api/v1/users/{username}/balance", admin, &Api::top_up},
      // Monthly statements: one's own; admins' of any user or group. Efficiency: admins.
      {"GET", "/api/v1/statements/{month}", user, &Api::statement},
      {"GET", "/api/v1/reports/efficiency", admin, &Api::efficiency_report},
      // Charts: the pool over a day or week (admins); GPU-hours and spend per day.
      {"GET", "/api/v1/charts/pool", admin, &Api::pool_chart},
      {"GET", "/api/v1/charts/usage", user, &Api::usage_chart},

      // Administration.
      {"GET", "/api/v1/users", admin, &Api::list_users},
      {"POST", "/api/v1/users", admin, &Api::create_user},
      {"PATCH", "/api/v1/users/{username}", admin, &Api::update_user},
      {"PUT", "/api/v1/users/{username}/notify", admin, &Api::put_user_notify_settings},
      {"GET", "/api/v1/users/{username}/tokens", admin, &Api::list_user_tokens},
      {"DELETE", "/api/v1/users/{username}/tokens/{id}", admin, &Api::revoke_user_token},
      {"GET", "/api/v1/groups", admin, &Api::list_groups},
      {"POST", "/api/v1/groups", admin, &Api::create_group},
      {"PUT", "/api/v1/groups/{group_name}/members", admin, &Api::set_group_members},
      {"GET", "/api/v1/datasets", admin, &Api::list_datasets},
      {"PUT", "/api/v1/datasets/{dataset}", admin, &Api::put_dataset},
      {"DELETE", "/api/v1/datasets/{dataset}", admin, &Api::delete_dataset},
      {"GET", "/api/v1/quotas", admin, &Api::list_quotas},
      {"PUT", "/api/v1/quotas/{scope}/{name}", admin, &Api::set_quota},
      {"GET", "/api/v1/idle-policies", admin, &Api::list_idle_policies},
      {"PUT", "/api/v1/idle-policies/{scope}/{name}", admin, &Api::set_idle_policy},
      {"DELETE", "/api/v1/idle-policies/{scope}/{name}", admin, &Api::delete_idle_policy},
      {"GET", "/api/v1/audit", admin, &Api::list_audit},
      {"GET", "/api/v1/nodes", admin, &Api::list_nodes},
      {"PUT", "/api/v1/nodes/{node}", admin, &Api::update_node},
      {"DELETE", "/api/v1/nodes/{node}", admin, &Api::remove_node},
      {"GET", "/api/v1/join-tokens", admin, &Api::list_join_tokens},
      {"POST", "/api/v1/join-tokens", admin, &Api::create_join_token},
      {"DELETE", "/api/v1/join-tokens/{id}", admin, &Api::revoke_join_token},
      {"DELETE", "/api/v1/nodes/{node}/unknown-containers/{session}", admin,
       &Api::remove_unknown_container},
      {"POST", "/api/v1/nodes/{node}/unknown-containers/{session}/adopt", admin,
       &Api::adopt_unknown_container},

      // GPU servers: a join token buys a node credential; the credential syncs its own node.
      {"POST", "/api/v1/agent/join", anyone, &Api::agent_join},
      {"POST", "/api/v1/agent/sync", node, &Api::agent_sync},
      // A session's Slurm job says where its Jupyter listens, with the session's own secret.
      {"POST", "/api/v1/slurm/ready", anyone, &Api::slurm_ready},
      {"POST", "/api/v1/slurm/activity", anyone, &Api::slurm_activity},
      {"POST", "/api/v1/slurm/start-failure", anyone, &Api::slurm_start_failure},

      // Prometheus scrapes with an admin's API token (authorization: credentials_file).
      {"GET", "/metrics", admin, &Api::metrics},
  };
  return table;
}

const std::string& Call::parameter(std::string_view name) const {
  static const std::string none;
  for (const auto& [key, value] : parameters)
    if (key == name) return value;
  return none;
}

bool Call::query_flag(std::string_view name) const {
  for (const auto& [key, value] : query)
    if (key == name) return value == "true";
  return false;
}

std::string Call::query_value(std::string_view name, std::string fallback) const {
  for (const auto& [key, value] : query)
    if (key == name) return value;
  return fallback;
}

HttpReply Api::handle(const HttpExchange& exchange) {
  // A session's own address serves only that session (its Jupyter, under /s/).
  if (session_address(exchange)) {
    return error_reply(ErrorCode::not_found, "this address serves a session's Jupyter only");
  }
  if (auto refused = refuse_planted_login_cookies(exchange)) return *refused;
  return dispatch(exchange);
}

namespace {

// The table with each pattern split once, not per request.
struct CompiledRoute {
  const Route* route;
  std::vector<std::string_view> parts;
};

const std::vector<CompiledRoute>& compiled_routes() {
  static const std::vector<CompiledRoute> compiled = [] {
    std::vector<CompiledRoute> list;
    for (const Route& route : Api::routes()) list.push_back({&route, split_path(route.pattern)});
    return list;
  }();
  return compiled;
}

}  // namespace

HttpReply Api::dispatch(const HttpExchange& exchange) {
  auto target = boost::urls::parse_origin_form(exchange.target);
  if (!target) return error_reply(ErrorCode::invalid_argument, "malformed request target");
  std::vector<std::string> segments;
  for (auto segment : target->segments()) segments.emplace_back(segment);

  // The route of this method and path; only when there is none, whether the path has any
  // route at all (for 405 against 404), and the most any route of the path asks of callers.
  const Route* found = nullptr;
  PathParameters parameters;
  for (const auto& compiled : compiled_routes()) {
    if (compiled.route->method != exchange.method) continue;
    if (auto matched = match_route_pattern(compiled.parts, segments)) {
      found = compiled.route;
      parameters = std::move(*matched);
      break;
    }
  }
  const Route* same_path = found;
  if (found == nullptr) {
    for (const auto& compiled : compiled_routes()) {
      if (!match_route_pattern(compiled.parts, segments)) continue;
      if (same_path == nullptr || compiled.route->access > same_path->access)
        same_path = compiled.route;
    }
  }
  bool api_path = exchange.path.starts_with("/api/") || exchange.path == "/metrics";
  // Only a signed-in caller learns which API paths exist (and which methods they take).
  std::optional<Principal> principal;
  std::string node;
  bool node_route = same_path != nullptr && same_path->access == Access::node;
  bool needs_caller =
      same_path == nullptr ? api_path : same_path->access != Access::anyone && !node_route;
  if (node_route) {
    auto authenticated = authenticate_node(exchange);
    if (!authenticated) return error_reply(authenticated.error());
    node = std::move(*authenticated);
  }
  if (needs_caller) {
    auto authenticated = authenticate(exchange);
    if (!authenticated) return error_reply(authenticated.error());
    principal = std::move(*authenticated);
  }
  if (same_path == nullptr) {
    return error_reply(ErrorCode::not_found, api_path ? "no such API endpoint" : "no such page");
  }
  if (found == nullptr) {
    if (!api_path) return error_reply(ErrorCode::not_found, "no such page");
    return json_reply(405, {{"error",
                             {{"code", "method_not_allowed"},
                              {"message", exchange.method + " is not allowed here"}}}});
  }
  if (found->access == Access::admin && !principal->user.admin) {
    return error_reply(ErrorCode::forbidden,
                       fmt::format("only admins may {} {}", found->method, found->pattern));
  }
  Call call{exchange, principal ? &*principal : nullptr, std::move(parameters), {}, node};
  for (auto parameter : target->params()) call.query.emplace_back(parameter.key, parameter.value);
  HttpReply reply = [&] {
    // Until the handler answers: a held reply (a long poll, a live view) counts its setup only.
    ScopedTimer timed(request_latency_);
    return (this->*found->handler)(call);
  }();
  audit(call, *found, reply);
  return reply;
}

Result<std::string> Api::authenticate_node(const HttpExchange& exchange) {
  std::string authorization = exchange.header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!authorization.starts_with(kBearer)) {
    return make_error(ErrorCode::unauthorized,
                      "a node credential is required (Authorization: Bearer …)");
  }
  return enrollment_.authenticate(authorization.substr(kBearer.size()));
}

HttpReply Api::healthz(const Call&) {
  return json_reply(200, {{"status", "ok"}});
}

HttpReply Api::readyz(const Call&) {
  bool ready = settings_.ready && settings_.ready();
  // "leads": whether this server runs the scheduling and sweeps of a control plane several
  // servers share (always true for one server alone).
  return json_reply(ready ? 200 : 503,
                    {{"status", ready ? "ready" : "not ready"}, {"leads", store_.leads()}});
}

}  // namespace gpupool::api
