#include "api/api.hpp"

#include <sodium.h>

#include <fmt/format.h>

#include "api/session_request.hpp"
#include "auth/ssh_key.hpp"
#include "core/json_input.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "gateway/proxy_route.hpp"
#include "gateway/replies.hpp"
#include "gateway/request_origin.hpp"

namespace gpupool::api {

using nlohmann::json;

namespace {

bool equal_secrets(const std::string& a, const std::string& b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

Result<Principal> Api::identify(const HttpExchange& exchange, const std::string& pass_for) {
  std::string authorization = exchange.header("Authorization");
  if (!authorization.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    if (!authorization.starts_with(kBearer)) {
      return make_error(ErrorCode::unauthorized, "Authorization must be \"Bearer <token>\"");
    }
    return auth_.authenticate(authorization.substr(kBearer.size()), CredentialKind::api_token);
  }
  // Cookies ride along on requests that pages of other origins start — sessions' pages
  // included (docs/security.md): such a request may be a top-level navigation, nothing more.
  if (gateway::started_by_another_origin(exchange)) {
    return make_error(ErrorCode::forbidden, "requests started by another site's page are refused");
  }
  std::string cookies = exchange.header("Cookie");
  Result<Principal> principal =
      make_error(ErrorCode::unauthorized, "not logged in, or the credential expired");
  if (pass_for.empty()) {
    auto logins = gateway::cookie_values(cookies, kSessionCookie);
    if (logins.size() == 1) principal = auth_.authenticate(logins.front(), CredentialKind::login);
  } else {
    // Any pass sent will do: a page of another origin may have added a bogus one.
    for (const auto& pass : gateway::cookie_values(cookies, kPassCookie)) {
      if (auto login = passes_.credential_for(pass, pass_for)) {
        principal = auth_.recheck(Principal{{}, CredentialKind::login, *login, ""});
        break;
      }
    }
  }
  if (!principal) return principal;
  // Writes and WebSocket upgrades must come from our own origin. At a session's own address
  // the browser must say so: Jupyter's own cross-site check is off there, since the gateway
  // signs in for it.
  if (!gateway::cookie_write_allowed(exchange, !pass_for.empty())) {
    return make_error(ErrorCode::forbidden, "cross-origin request refused");
  }
  return principal;
}

std::optional<HttpReply> Api::refuse_planted_login_cookies(const HttpExchange& exchange) const {
  if (!exchange.header("Authorization").empty()) return std::nullopt;
  if (gateway::cookie_values(exchange.header("Cookie"), kSessionCookie).size() < 2) {
    return std::nullopt;
  }
  // Only the portal sets the login cookie, once, at "/": a second one was planted by a page
  // of another origin on this host. Neither is used, and both are expired.
  HttpReply reply =
      error_reply(ErrorCode::unauthorized,
                  "this browser sent two login cookies, one of them not set by gpupool (a page "
                  "opened from a session may have planted it); sign in again");
  for (auto& expired : gateway::expire_at_every_path(kSessionCookie, exchange.path)) {
    reply.headers.emplace_back("Set-Cookie", std::move(expired));
  }
  return reply;
}

Result<Principal> Api::authenticate(const HttpExchange& exchange) {
  auto principal = identify(exchange);
  if (!principal || principal->kind != CredentialKind::login) return principal;
  // API writes with a cookie must also prove they come from our pages.
  if (!gateway::is_safe_method(exchange.method)) {
    if (!equal_secrets(exchange.header("X-CSRF-Token"), principal->csrf_token)) {
      return make_error(ErrorCode::forbidden, "missing or wrong X-CSRF-Token header");
    }
  }
  return principal;
}

std::string Api::client_address(const HttpExchange& exchange) const {
  return gateway::client_address(exchange.remote_address, exchange.header_list("X-Forwarded-For"),
                                 settings_.trusted_proxies);
}

HttpReply Api::login(const Call& call) {
  const HttpExchange& exchange = call.exchange;
  // A page elsewhere must not sign a browser in to an account of its choosing: a form can
  // post across sites, but not as JSON, and fetch() across origins says where it comes from.
  if (gateway::started_by_another_origin(exchange) ||
      !gateway::cookie_write_allowed(exchange, false) ||
      !exchange.header("Content-Type").starts_with("application/json")) {
    return error_reply(ErrorCode::forbidden,
                       "sign in from gpupool's own page (a JSON POST from its origin)");
  }
  auto body = parse_json_object(exchange.body);
  if (!body) return error_reply(body.error());
  auto username = required_string(*body, "username", 256);
  if (!username) return error_reply(username.error());
  auto password = required_string(*body, "password", 1024);
  if (!password) return error_reply(password.error());
  auto result = auth_.login(*username, *password, client_address(exchange));
  if (!result) {
    HttpReply refused = error_reply(result.error());
    // A refusal to even try (back-off) costs nothing to send: recording each would let a
    // flood fill the log. The failures that led to it are there.
    if (result.error().code != ErrorCode::rate_limited) audit_login(exchange, *username, refused);
    return refused;
  }
  HttpReply reply =
      json_reply(200, {{"user", user_view(result->user)}, {"csrf_token", result->csrf_token}});
  reply.headers.emplace_back(
      "Set-Cookie",
      fmt::format("{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}", kSessionCookie,
                  result->cookie_secret, services::kLoginLifetimeMillis / 1000,
                  settings_.secure_cookies ? "; Secure" : ""));
  audit_login(exchange, result->user.username, reply);
  return reply;
}

HttpReply Api::logout(const Call& call) {
  const Principal& principal = call.caller();
  auto status = auth_.logout(principal);
  if (!status) return error_reply(status.error());
  if (settings_.tunnels != nullptr) settings_.tunnels->close_all(principal.credential_digest);
  HttpReply reply = json_reply(200, {{"status", "logged out"}});
  reply.headers.emplace_back(
      "Set-Cookie", fmt::format("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0", kSessionCookie));
  return reply;
}

HttpReply Api::mint_token(const Call& call) {
  const HttpExchange& exchange = call.exchange;
  const Principal& principal = call.caller();
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

HttpReply Api::me(const Call& call) {
  return profile(call.caller());
}

HttpReply Api::profile(const Principal& principal) {
  auto profile = directory_.profile(principal.user.id);
  if (!profile) return error_reply(profile.error());
  json key_list = json::array();
  for (const auto& key : profile->ssh_keys)
    key_list.push_back({{"key", key}, {"fingerprint", auth::ssh_key_fingerprint(key)}});
  json view = user_view(principal.user);
  view["groups"] = json::array();
  for (const auto& group : profile->groups) view["groups"].push_back(group.name);
  view["quotas"] = quotas_json(profile->quotas);
  auto balance = sessions_.balance(principal.user.id);
  if (!balance) return error_reply(balance.error());
  view["balance"] = credits(balance->available_micros());
  view["ssh_keys"] = key_list;
  // The portal reads its CSRF token here after a reload; other origins cannot read it.
  if (principal.kind == CredentialKind::login) view["csrf_token"] = principal.csrf_token;
  return json_reply(200, view);
}

HttpReply Api::put_ssh_keys(const Call& call) {
  const HttpExchange& exchange = call.exchange;
  const Principal& principal = call.caller();
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
  auto stored = directory_.replace_ssh_keys(principal.user.id, normalized);
  if (!stored) return error_reply(stored.error());
  return profile(principal);
}

HttpReply Api::create_user(const Call& call) {
  const HttpExchange& exchange = call.exchange;
  const Principal& principal = call.caller();
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

HttpReply Api::create_session(const Call& call) {
  const HttpExchange& exchange = call.exchange;
  const Principal& principal = call.caller();
  auto body = parse_json_object(exchange.body);
  if (!body) return error_reply(body.error());
  auto request = parse_session_request(*body);
  if (!request) return error_reply(request.error());
  // A retry with the same Idempotency-Key gets the first request's session (200), not a
  // second session. The digest is of the parsed body, so key order and spacing do not count.
  services::RequestKey key{exchange.header("Idempotency-Key"), digest_hex(body->dump())};
  bool key_ok = key.key.size() <= 255 && std::all_of(key.key.begin(), key.key.end(),
                                                     [](char c) { return c > 0x20 && c < 0x7f; });
  if (!key_ok) {
    return error_reply(ErrorCode::invalid_argument,
                       "Idempotency-Key: at most 255 visible ASCII characters");
  }
  auto requested = sessions_.request_session(principal.user, std::move(*request), key);
  if (!requested) return error_reply(requested.error());
  HttpReply reply = json_reply(requested->replayed ? 200 : 201,
                               session_view(requested->session, view_context(), clock_.now()));
  if (requested->replayed) reply.headers.emplace_back("Idempotent-Replayed", "true");
  return reply;
}

Result<std::vector<Session>> Api::listed_sessions(const Call& call) {
  const Principal& principal = call.caller();
  bool everyone = call.query_flag("all");
  if (everyone && !principal.user.admin)
    return make_error(ErrorCode::forbidden, "only admins list everyone's sessions (?all=true)");
  return sessions_.list_sessions(principal.user, everyone);
}

HttpReply Api::list_sessions(const Call& call) {
  auto sessions = listed_sessions(call);
  if (!sessions) return error_reply(sessions.error());
  return json_reply(200, sessions_document(*sessions));
}

json Api::sessions_document(const std::vector<Session>& sessions) const {
  json list = json::array();
  ViewContext context = view_context();
  for (const auto& session : sessions) list.push_back(session_view(session, context, clock_.now()));
  return {{"sessions", list}};
}

HttpReply Api::get_session(const Call& call) {
  const Principal& principal = call.caller();
  const std::string& id = call.parameter("id");
  if (id.size() > kMaxSessionIdLength) return error_reply(ErrorCode::not_found, "no such session");
  auto session = sessions_.get_session(principal.user, id);
  if (!session) return error_reply(session.error());
  return json_reply(200, session_view(*session, view_context(), clock_.now()));
}

HttpReply Api::stop_session(const Call& call) {
  const Principal& principal = call.caller();
  const std::string& id = call.parameter("id");
  if (id.size() > kMaxSessionIdLength) return error_reply(ErrorCode::not_found, "no such session");
  auto session = sessions_.stop_session(principal.user, id);
  if (!session) return error_reply(session.error());
  return json_reply(200, session_view(*session, view_context(), clock_.now()));
}

HttpReply Api::pool(const Call&) {
  auto summary = sessions_.pool();
  if (!summary) return error_reply(summary.error());
  return json_reply(200, pool_view(*summary));
}

}  // namespace gpupool::api
