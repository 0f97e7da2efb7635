#include "api/api.hpp"

#include <sodium.h>

#include <fmt/format.h>

#include "api/session_request.hpp"
#include "auth/ssh_key.hpp"
#include "core/json_input.hpp"
#include "core/log.hpp"
#include "gateway/proxy_route.hpp"
#include "gateway/replies.hpp"

namespace gpupool::api {

using nlohmann::json;

namespace {

bool is_safe_method(const std::string& method) {
  return method == "GET" || method == "HEAD";
}

// Same-origin: the Origin header's authority must be the Host the browser sent to.
bool origin_matches_host(const std::string& origin, const std::string& host) {
  auto scheme_end = origin.find("://");
  if (scheme_end == std::string::npos) return false;
  return origin.substr(scheme_end + 3) == host;
}

bool equal_secrets(const std::string& a, const std::string& b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

HttpReply Api::handle(const HttpExchange& exchange) {
  // A session's own address serves only that session (its Jupyter, under /s/).
  if (gateway::session_in_host(exchange.header("Host"), settings_.session_domain)) {
    return error_reply(ErrorCode::not_found, "this address serves a session's Jupyter only");
  }
  return route(exchange);
}

Result<Principal> Api::identify(const HttpExchange& exchange, const std::string& pass_for) {
  std::string authorization = exchange.header("Authorization");
  if (!authorization.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    if (!authorization.starts_with(kBearer)) {
      return make_error(ErrorCode::unauthorized, "Authorization must be \"Bearer <token>\"");
    }
    return auth_.authenticate(authorization.substr(kBearer.size()), CredentialKind::api_token);
  }
  std::string cookies = exchange.header("Cookie");
  Result<Principal> principal =
      make_error(ErrorCode::unauthorized, "not logged in, or the credential expired");
  if (pass_for.empty()) {
    principal = auth_.authenticate(cookie_value(cookies, kSessionCookie), CredentialKind::login);
  } else if (auto login = passes_.credential_for(cookie_value(cookies, kPassCookie), pass_for)) {
    principal = auth_.recheck(Principal{{}, CredentialKind::login, *login, ""});
  }
  if (!principal) return principal;
  // Cookies ride along on cross-site requests: writes and WebSocket upgrades must come from
  // our own origin.
  bool upgrade = !exchange.header("Upgrade").empty();
  if (!is_safe_method(exchange.method) || upgrade) {
    std::string origin = exchange.header("Origin");
    if (!origin.empty() && !origin_matches_host(origin, exchange.header("Host"))) {
      return make_error(ErrorCode::forbidden, "cross-origin request refused");
    }
  }
  return principal;
}

Result<Principal> Api::authenticate(const HttpExchange& exchange) {
  auto principal = identify(exchange);
  if (!principal || principal->kind != CredentialKind::login) return principal;
  // API writes with a cookie must also prove they come from our pages.
  if (!is_safe_method(exchange.method)) {
    if (!equal_secrets(exchange.header("X-CSRF-Token"), principal->csrf_token)) {
      return make_error(ErrorCode::forbidden, "missing or wrong X-CSRF-Token header");
    }
  }
  return principal;
}

HttpReply Api::route(const HttpExchange& exchange) {
  const std::string& path = exchange.path;
  const std::string& method = exchange.method;
  if (path == "/healthz") return json_reply(200, {{"status", "ok"}});
  if (path == "/readyz") {
    bool ready = settings_.ready && settings_.ready();
    return json_reply(ready ? 200 : 503, {{"status", ready ? "ready" : "not ready"}});
  }
  if (path == "/" || path.starts_with("/ui/")) {
    if (auto page = web_page(path); page && (method == "GET" || method == "HEAD")) return *page;
    return error_reply(ErrorCode::not_found, "no such page");
  }
  if (!path.starts_with("/api/v1/") && path != "/metrics")
    return error_reply(ErrorCode::not_found, "no such page");
  if (path == "/api/v1/auth/login") {
    if (method != "POST") return error_reply(ErrorCode::invalid_argument, "use POST");
    return login(exchange);
  }

  auto principal = authenticate(exchange);
  if (!principal) return error_reply(principal.error());

  constexpr std::string_view kSessionsPrefix = "/api/v1/sessions/";
  auto method_not_allowed = [&] {
    return json_reply(
        405, {{"error",
               {{"code", "method_not_allowed"}, {"message", method + " is not allowed here"}}}});
  };
  // Prometheus scrapes with an admin's API token (authorization: credentials_file).
  if (path == "/metrics") {
    if (method != "GET") return method_not_allowed();
    if (!principal->user.admin)
      return error_reply(ErrorCode::forbidden, "only admins read metrics");
    return metrics();
  }
  if (path == "/api/v1/auth/logout")
    return method == "POST" ? logout(*principal) : method_not_allowed();
  if (path == "/api/v1/tokens")
    return method == "POST" ? mint_token(exchange, *principal) : method_not_allowed();
  if (path == "/api/v1/me") return method == "GET" ? me(*principal) : method_not_allowed();
  if (path == "/api/v1/me/ssh-keys")
    return method == "PUT" ? put_ssh_keys(exchange, *principal) : method_not_allowed();
  if (path == "/api/v1/users") {
    if (method == "POST") return create_user(exchange, *principal);
    if (method != "GET") return method_not_allowed();
    if (!principal->user.admin) return error_reply(ErrorCode::forbidden, "only admins list users");
    return list_users();
  }
  if (path == "/api/v1/pool") return method == "GET" ? pool() : method_not_allowed();
  if (path == "/api/v1/events") return method == "GET" ? events(*principal) : method_not_allowed();
  if (path == "/api/v1/images") return method == "GET" ? images() : method_not_allowed();
  if (path == "/api/v1/prices") return method == "GET" ? list_prices() : method_not_allowed();
  if (path == "/api/v1/usage")
    return method == "GET" ? usage(exchange, *principal) : method_not_allowed();
  if (path == "/api/v1/balance")
    return method == "GET" ? balance(*principal) : method_not_allowed();
  if (path.starts_with("/api/v1/users/") && path.ends_with("/balance")) {
    if (method != "POST") return method_not_allowed();
    if (!principal->user.admin)
      return error_reply(ErrorCode::forbidden, "only admins top up balances");
    auto name = path.substr(std::string_view("/api/v1/users/").size());
    return top_up(exchange, *principal,
                  name.substr(0, name.size() - std::string_view("/balance").size()));
  }
  constexpr std::string_view kPricesPrefix = "/api/v1/prices/";
  if (path.starts_with(kPricesPrefix)) {
    if (method != "PUT") return method_not_allowed();
    if (!principal->user.admin) return error_reply(ErrorCode::forbidden, "only admins set prices");
    return set_price(exchange, path.substr(kPricesPrefix.size()));
  }
  if (path == "/api/v1/sessions") {
    if (method == "POST") return create_session(exchange, *principal);
    if (method == "GET") return list_sessions(exchange, *principal);
    return method_not_allowed();
  }
  if (path == "/api/v1/groups" || path.starts_with("/api/v1/groups/") || path == "/api/v1/quotas" ||
      path.starts_with("/api/v1/quotas/") || path == "/api/v1/nodes" ||
      path.starts_with("/api/v1/nodes/")) {
    if (!principal->user.admin)
      return error_reply(ErrorCode::forbidden, "only admins manage groups, quotas and nodes");
    return admin_route(exchange);
  }
  if (path.starts_with(kSessionsPrefix)) {
    std::string id = path.substr(kSessionsPrefix.size());
    if (id.empty() || id.size() > 64 || id.find('/') != std::string::npos) {
      return error_reply(ErrorCode::not_found, "no such session");
    }
    if (method == "GET") return get_session(*principal, id);
    if (method == "DELETE") return stop_session(*principal, id);
    return method_not_allowed();
  }
  return error_reply(ErrorCode::not_found, "no such API endpoint");
}

HttpReply Api::admin_route(const HttpExchange& exchange) {
  const std::string& path = exchange.path;
  const std::string& method = exchange.method;
  // /api/v1/groups/NAME/members and /api/v1/quotas/SCOPE/NAME: split the rest into parts.
  std::vector<std::string> parts;
  for (std::size_t start = std::string("/api/v1/").size(); start <= path.size();) {
    auto end = path.find('/', start);
    parts.push_back(path.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (parts == std::vector<std::string>{"groups"} && method == "POST")
    return create_group(exchange);
  if (parts == std::vector<std::string>{"groups"} && method == "GET") return list_groups();
  if (parts.size() == 3 && parts[0] == "groups" && parts[2] == "members" && method == "PUT") {
    return set_group_members(exchange, parts[1]);
  }
  if (parts == std::vector<std::string>{"quotas"} && method == "GET") return list_quotas();
  if (parts == std::vector<std::string>{"nodes"} && method == "GET") {
    auto nodes = nodes_document();
    return nodes ? json_reply(200, *nodes) : error_reply(nodes.error());
  }
  if (parts.size() == 2 && parts[0] == "nodes" && method == "PUT")
    return update_node(exchange, parts[1]);
  if (parts.size() == 3 && parts[0] == "quotas" && method == "PUT")
    return set_quota(exchange, parts[1], parts[2]);
  return error_reply(ErrorCode::not_found, "no such admin endpoint (or wrong method)");
}

HttpReply Api::login(const HttpExchange& exchange) {
  auto body = parse_json_object(exchange.body);
  if (!body) return error_reply(body.error());
  auto username = required_string(*body, "username", 256);
  if (!username) return error_reply(username.error());
  auto password = required_string(*body, "password", 1024);
  if (!password) return error_reply(password.error());
  auto result = auth_.login(*username, *password, exchange.remote_address);
  if (!result) return error_reply(result.error());
  HttpReply reply =
      json_reply(200, {{"user", user_view(result->user)}, {"csrf_token", result->csrf_token}});
  reply.headers.emplace_back(
      "Set-Cookie",
      fmt::format("{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}", kSessionCookie,
                  result->cookie_secret, services::kLoginLifetimeMillis / 1000,
                  settings_.secure_cookies ? "; Secure" : ""));
  return reply;
}

HttpReply Api::logout(const Principal& principal) {
  auto status = auth_.logout(principal);
  if (!status) return error_reply(status.error());
  if (settings_.tunnels != nullptr) settings_.tunnels->close_all(principal.credential_digest);
  HttpReply reply = json_reply(200, {{"status", "logged out"}});
  reply.headers.emplace_back(
      "Set-Cookie", fmt::format("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0", kSessionCookie));
  return reply;
}

HttpReply Api::mint_token(const HttpExchange& exchange, const Principal& principal) {
  auto body = parse_json_object(exchange.body.empty() ? "{}" : exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"name", "expires_in_days"});
  if (!known) return error_reply(known.error());
  auto name = optional_string(*body, "name", 64);
  if (!name) return error_reply(name.error());
  auto days = optional_integer(*body, "expires_in_days", 1, 3650);
  if (!days) return error_reply(days.error());
  std::optional<int> lifetime;
  if (*days) lifetime = static_cast<int>(**days);
  auto minted = auth_.mint_token(principal, name->value_or("api"), lifetime);
  if (!minted) return error_reply(minted.error());
  return json_reply(
      201, {{"token", minted->token},
            {"name", minted->name},
            {"expires_at",
             minted->expires_at ? json(format_rfc3339(minted->expires_at)) : json(nullptr)}});
}

HttpReply Api::me(const Principal& principal) {
  auto keys = store_.ssh_keys(principal.user.id);
  if (!keys) return error_reply(keys.error());
  json key_list = json::array();
  for (const auto& key : *keys)
    key_list.push_back({{"key", key}, {"fingerprint", auth::ssh_key_fingerprint(key)}});
  auto groups = store_.groups_of(principal.user.id);
  if (!groups) return error_reply(groups.error());
  auto quotas = store_.quotas_for(principal.user.id);
  if (!quotas) return error_reply(quotas.error());
  json view = user_view(principal.user);
  view["groups"] = json::array();
  for (const auto& group : *groups) view["groups"].push_back(group.name);
  view["quotas"] = quotas_json(*quotas);
  auto balance = sessions_.balance(principal.user.id);
  if (!balance) return error_reply(balance.error());
  view["balance"] = credits(balance->available_micros());
  view["ssh_keys"] = key_list;
  // The portal reads its CSRF token here after a reload; other origins cannot read it.
  if (principal.kind == CredentialKind::login) view["csrf_token"] = principal.csrf_token;
  return json_reply(200, view);
}

HttpReply Api::put_ssh_keys(const HttpExchange& exchange, const Principal& principal) {
  auto body = parse_json_object(exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"keys"});
  if (!known) return error_reply(known.error());
  auto keys =
      required_string_array(*body, "keys", auth::kMaxSshKeysPerUser, auth::kMaxSshKeyLength);
  if (!keys) return error_reply(keys.error());
  std::vector<std::string> normalized;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    auto key = auth::normalize_ssh_public_key((*keys)[i]);
    if (!key)
      return error_reply(ErrorCode::invalid_argument,
                         fmt::format("keys[{}]: {}", i, key.error().message));
    normalized.push_back(std::move(*key));
  }
  auto stored = store_.replace_ssh_keys(principal.user.id, normalized);
  if (!stored) return error_reply(stored.error());
  return me(principal);
}

HttpReply Api::create_user(const HttpExchange& exchange, const Principal& principal) {
  if (!principal.user.admin)
    return error_reply(ErrorCode::forbidden, "only admins can create users");
  auto body = parse_json_object(exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"username", "password", "admin"});
  if (!known) return error_reply(known.error());
  auto username = required_string(*body, "username", 256);
  if (!username) return error_reply(username.error());
  auto password = required_string(*body, "password", 1024);
  if (!password) return error_reply(password.error());
  auto admin = optional_bool(*body, "admin");
  if (!admin) return error_reply(admin.error());
  auto user = auth_.create_user(principal, *username, *password, admin->value_or(false));
  if (!user) return error_reply(user.error());
  return json_reply(201, user_view(*user));
}

HttpReply Api::create_session(const HttpExchange& exchange, const Principal& principal) {
  auto body = parse_json_object(exchange.body);
  if (!body) return error_reply(body.error());
  auto request = parse_session_request(*body);
  if (!request) return error_reply(request.error());
  auto session = sessions_.request_session(principal.user, std::move(*request));
  if (!session) return error_reply(session.error());
  return json_reply(201, session_view(*session, settings_.view, clock_.now()));
}

Result<std::vector<Session>> Api::listed_sessions(const HttpExchange& exchange,
                                                  const Principal& principal) {
  bool everyone = exchange.query.find("all=true") != std::string::npos;
  if (everyone && !principal.user.admin)
    return make_error(ErrorCode::forbidden, "only admins list everyone's sessions (?all=true)");
  return sessions_.list_sessions(principal.user, everyone);
}

HttpReply Api::list_sessions(const HttpExchange& exchange, const Principal& principal) {
  auto sessions = listed_sessions(exchange, principal);
  if (!sessions) return error_reply(sessions.error());
  return json_reply(200, sessions_document(*sessions));
}

json Api::sessions_document(const std::vector<Session>& sessions) const {
  json list = json::array();
  for (const auto& session : sessions)
    list.push_back(session_view(session, settings_.view, clock_.now()));
  return {{"sessions", list}};
}

HttpReply Api::get_session(const Principal& principal, const std::string& id) {
  auto session = sessions_.get_session(principal.user, id);
  if (!session) return error_reply(session.error());
  return json_reply(200, session_view(*session, settings_.view, clock_.now()));
}

HttpReply Api::stop_session(const Principal& principal, const std::string& id) {
  auto session = sessions_.stop_session(principal.user, id);
  if (!session) return error_reply(session.error());
  return json_reply(200, session_view(*session, settings_.view, clock_.now()));
}

HttpReply Api::pool() {
  auto summary = sessions_.pool();
  if (!summary) return error_reply(summary.error());
  return json_reply(200, pool_view(*summary));
}

HttpReply Api::images() {
  auto images = store_.list_images();
  if (!images) return error_reply(images.error());
  json list = json::array();
  for (const auto& image : *images) list.push_back(image_view(image));
  return json_reply(200, {{"images", list}});
}

}  // namespace gpupool::api
