// Sign-in through the organisation's OpenID Connect provider (docs/auth.md): the portal's
// "Sign in with …" and the CLI's browser sign-in.
//
// GET /api/v1/auth/oidc/start sends the browser to the provider with a fresh state, nonce and
// PKCE challenge (auth/oidc_client.hpp); the attempt is kept in the store by the state's
// digest, so that any server behind the load balancer can take the callback, and only once.
// The state also goes into a cookie scoped to the callback: a callback that another browser
// started (login CSRF) or that is replayed finds no attempt, or not its cookie, and is refused.
// A CLI's sign-in (`gpupool login --browser`) goes on in api/cli_sign_in_handlers.cpp.
#include <nlohmann/json.hpp>

#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/api.hpp"
#include "core/random.hpp"
#include "gateway/cookies.hpp"
#include "net/http_client.hpp"

namespace gpupool::api {

namespace {

constexpr const char* kStateCookie = "gpupool_oidc_state";
constexpr const char* kCallbackPath = "/api/v1/auth/oidc/callback";
constexpr UnixMillis kAttemptLifetimeMillis = 10 * 60 * 1000;

HttpReply redirect(const std::string& location) {
  return HttpReply{302, "text/plain", "", {{"Location", location}}, nullptr};
}

// A port of the CLI's loopback listener, as the query gives it.
std::optional<int> loopback_port(const std::string& text) {
  int port = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (error != std::errc() || end != text.data() + text.size() || port < 1024 || port > 65535)
    return std::nullopt;
  return port;
}

}  // namespace

HttpReply Api::auth_providers(const Call&) {
  const auto& sources = auth_.sources();
  nlohmann::json oidc = nullptr;
  if (settings_.oidc != nullptr)
    oidc = {{"name", settings_.oidc->settings().name}, {"url", "/api/v1/auth/oidc/start"}};
  return json_reply(
      200, {{"password", sources.local_accounts || sources.ldap != nullptr}, {"oidc", oidc}});
}

std::string Api::oidc_redirect_uri() const {
  return settings_.view.gateway_url + kCallbackPath;
}

HttpReply Api::oidc_start(const Call& call) {
  if (settings_.oidc == nullptr)
    return error_reply(ErrorCode::not_found, "no identity provider is set up");
  nlohmann::json payload = nlohmann::json::object();
  std::string cli_port = call.query_value("cli_port");
  if (!cli_port.empty()) {
    auto port = loopback_port(cli_port);
    std::string cli_state = call.query_value("cli_state");
    std::string challenge = call.query_value("cli_challenge");
    if (!port || cli_state.empty() || cli_state.size() > 128 || challenge.size() != 43) {
      return error_reply(ErrorCode::invalid_argument,
                         "a CLI sign-in needs cli_port (1024–65535), cli_state and cli_challenge");
    }
    payload["cli"] = {{"port", *port}, {"state", cli_state}, {"challenge", challenge}};
  }
  auto attempt = settings_.oidc->begin(oidc_redirect_uri());
  if (!attempt) return error_reply(attempt.error());
  payload["nonce"] = attempt->nonce;
  payload["verifier"] = attempt->code_verifier;
  UnixMillis now = clock_.now();
  auto kept = store_.put_sign_in_attempt(digest_hex("oidc:" + attempt->state), payload.dump(),
                                         now + kAttemptLifetimeMillis, now);
  if (!kept) return error_reply(kept.error());
  HttpReply reply = redirect(attempt->authorization_url);
  reply.headers.emplace_back(
      "Set-Cookie",
      fmt::format("{}={}; Path={}; HttpOnly; SameSite=Lax; Max-Age={}{}", kStateCookie,
                  attempt->state, kCallbackPath, kAttemptLifetimeMillis / 1000,
                  settings_.secure_cookies ? "; Secure" : ""));
  return reply;
}

HttpReply Api::oidc_callback(const Call& call) {
  const HttpExchange& exchange = call.exchange;
  // Errors go back to the portal's sign-in page, which shows them.
  auto refused = [&](const std::string& username, const Error& error) {
    HttpReply reply = redirect("/?sign_in_error=" + net::url_encode(error.message));
    audit_login(exchange, username, error_reply(error));
    return reply;
  };
  if (settings_.oidc == nullptr)
    return error_reply(ErrorCode::not_found, "no identity provider is set up");
  std::string state = call.query_value("state");
  std::string cookie = gateway::cookie_value(exchange.header("Cookie"), kStateCookie);
  if (state.empty() || state.size() > 256 || !secrets_equal(state, cookie)) {
    return refused("", make_error(ErrorCode::forbidden,
                                  "this sign-in was not started by this browser; start again"));
  }
  auto taken = store_.take_sign_in_attempt(digest_hex("oidc:" + state), clock_.now());
  if (!taken) return error_reply(taken.error());
  if (!taken->has_value()) {
    return refused("", make_error(ErrorCode::forbidden,
                                  "this sign-in is unknown, expired or already used; start again"));
  }
  auto payload = nlohmann::json::parse(**taken, nullptr, false);
  // A CLI's sign-in says why it failed on the CLI's loopback page, where the CLI reads it.
  auto failed = [&](const std::string& username, const Error& error) {
    if (!payload.contains("cli")) return refused(username, error);
    audit_login(exchange, username, error_reply(error));
    return cli_loopback(payload["cli"], "error=" + net::url_encode(error.message));
  };
  if (!call.query_value("error").empty()) {
    return failed("",
                  make_error(ErrorCode::forbidden, "the identity provider did not sign you in: " +
                                                       call.query_value("error").substr(0, 64)));
  }
  auth::OidcAttempt attempt{state, payload.value("nonce", ""), payload.value("verifier", ""), ""};
  auto signed_in = settings_.oidc->finish(call.query_value("code"), attempt, oidc_redirect_uri(),
                                          clock_.now() / 1000);
  if (!signed_in) return failed("", signed_in.error());
  const auto& username = signed_in->account.username;
  auto user = settings_.oidc_accounts->provision(AccountSource::oidc, signed_in->account);
  if (!user) return failed(username, user.error());
  // What the directory check asks the provider with; without it, the sign-in still counts.
  if (auto kept = settings_.oidc_tokens->keep(user->id, *signed_in); !kept)
    spdlog::warn("keeping {}'s refresh token: {}", username, kept.error().message);
  if (payload.contains("cli")) return cli_confirmation_page(exchange, *user, payload["cli"]);
  auto login = auth_.sign_in(*user);
  if (!login) return error_reply(login.error());
  HttpReply reply = redirect("/");
  reply.headers.emplace_back(
      "Set-Cookie",
      fmt::format("{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}", kSessionCookie,
                  login->cookie_secret, services::kLoginLifetimeMillis / 1000,
                  settings_.secure_cookies ? "; Secure" : ""));
  reply.headers.emplace_back(
      "Set-Cookie", fmt::format("{}=; Path={}; HttpOnly; Max-Age=0", kStateCookie, kCallbackPath));
  audit_login(exchange, user->username, json_reply(200, nlohmann::json::object()));
  return reply;
}

}  // namespace gpupool::api
