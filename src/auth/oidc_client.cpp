#include "auth/oidc_client.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/base64.hpp"
#include "core/json_input.hpp"
#include "core/random.hpp"
#include "net/http_client.hpp"

namespace gpupool::auth {

namespace {

using Json = nlohmann::json;
constexpr auto kKeysRefetchAfter = std::chrono::seconds(60);

Error unavailable(const std::string& what) {
  return make_error(ErrorCode::unavailable, "the identity provider " + what);
}

struct Target {
  net::HttpEndpoint endpoint;
  std::string path;  // with the query
};

Result<Target> target_of(const std::string& url, const std::string& ca_file) {
  if (!url.starts_with("https://"))
    return unavailable(fmt::format("gave a URL that is not https: {}", url));
  auto slash = url.find('/', 8);
  auto endpoint = net::parse_http_endpoint(url.substr(0, slash));
  if (!endpoint) return endpoint.error();
  endpoint->ca_file = ca_file;
  return Target{*endpoint, slash == std::string::npos ? "/" : url.substr(slash)};
}

Result<net::HttpResponse> call(const std::string& url, const std::string& ca_file,
                               net::HttpRequest request, int timeout_s) {
  auto target = target_of(url, ca_file);
  if (!target) return target.error();
  request.target = target->path;
  request.headers.emplace_back("Accept", "application/json");
  // With the port (RFC 9110 §7.2): providers build their endpoints' URLs from the Host.
  if (target->endpoint.port != 443) {
    request.headers.emplace_back(
        "Host", fmt::format("{}:{}", target->endpoint.host, target->endpoint.port));
  }
  auto response =
      net::http_call(target->endpoint, request, std::chrono::seconds(timeout_s), 1024 * 1024);
  if (!response) return unavailable(fmt::format("cannot be reached: {}", response.error().message));
  return response;
}

Result<Json> json_document(const std::string& url, const std::string& ca_file, int timeout_s) {
  auto response = call(url, ca_file, {}, timeout_s);
  if (!response) return response.error();
  auto parsed = Json::parse(response->body, nullptr, false);
  if (response->status != 200 || parsed.is_discarded() || !parsed.is_object())
    return unavailable(fmt::format("answered {} for {}", response->status, url));
  return parsed;
}

std::string form(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string encoded;
  for (const auto& [name, value] : fields) {
    if (!encoded.empty()) encoded += '&';
    encoded += net::url_encode(name) + "=" + net::url_encode(value);
  }
  return encoded;
}

std::optional<int> number_claim(const Json& claims, const std::string& name) {
  if (name.empty() || !claims.contains(name)) return std::nullopt;
  const Json& value = claims[name];
  if (value.is_number_integer()) return value.get<int>();
  if (!value.is_string()) return std::nullopt;
  const auto& text = value.get_ref<const std::string&>();
  int number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return number;
}

}  // namespace

Status check_oidc_settings(const OidcSettings& settings) {
  auto invalid = [](const std::string& message) {
    return make_error(ErrorCode::invalid_argument, "[auth.oidc] " + message);
  };
  if (!settings.issuer.starts_with("https://")) return invalid("issuer must be an https:// URL");
  if (settings.client_id.empty()) return invalid("needs client_id");
  if (settings.client_secret.empty()) return invalid("needs client_secret (or client_secret_file)");
  if (settings.username_claim.empty()) return invalid("username_claim must name a claim");
  if (std::find(settings.scopes.begin(), settings.scopes.end(), "openid") == settings.scopes.end())
    return invalid("scopes must include openid");
  if (settings.timeout_s < 1 || settings.timeout_s > 120)
    return invalid("timeout_seconds must be 1 to 120");
  return {};
}

Result<OidcClient::Provider> OidcClient::provider() {
  {
    std::lock_guard lock(mutex_);
    if (provider_) return *provider_;
  }
  std::string issuer = settings_.issuer;
  while (issuer.ends_with('/')) issuer.pop_back();
  auto document = json_document(issuer + "/.well-known/openid-configuration", settings_.ca_file,
                                settings_.timeout_s);
  if (!document) return document.error();
  // The document must be the issuer's own (OpenID Connect Discovery §4.3).
  if (document->value("issuer", "") != settings_.issuer)
    return unavailable(fmt::format("calls itself \"{}\", not \"{}\"", document->value("issuer", ""),
                                   settings_.issuer));
  Provider found{document->value("authorization_endpoint", ""),
                 document->value("token_endpoint", ""), document->value("jwks_uri", "")};
  for (const auto* url : {&found.authorization_endpoint, &found.token_endpoint, &found.jwks_uri}) {
    if (!url->starts_with("https://"))
      return unavailable("lacks an https endpoint in its discovery document");
  }
  std::lock_guard lock(mutex_);
  provider_ = found;
  return found;
}

Result<JsonWebKeys> OidcClient::keys(bool refresh) {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    // A token signed with a new key fetches the keys again, at most once a minute.
    if (keys_ && (!refresh || now - keys_fetched_ < kKeysRefetchAfter)) return *keys_;
  }
  auto found = provider();
  if (!found) return found.error();
  auto response = call(found->jwks_uri, settings_.ca_file, {}, settings_.timeout_s);
  if (!response) return response.error();
  auto parsed = parse_json_web_keys(response->body);
  if (!parsed) return parsed.error();
  std::lock_guard lock(mutex_);
  keys_ = *parsed;
  keys_fetched_ = now;
  return *parsed;
}

Result<OidcAttempt> OidcClient::begin(const std::string& redirect_uri) {
  auto found = provider();
  if (!found) return found.error();
  OidcAttempt attempt{random_token(32), random_token(32), random_token(48), ""};
  std::string scope;
  for (const auto& entry : settings_.scopes) scope += (scope.empty() ? "" : " ") + entry;
  attempt.authorization_url =
      found->authorization_endpoint +
      (found->authorization_endpoint.find('?') == std::string::npos ? "?" : "&") +
      form({{"response_type", "code"},
            {"client_id", settings_.client_id},
            {"redirect_uri", redirect_uri},
            {"scope", scope},
            {"state", attempt.state},
            {"nonce", attempt.nonce},
            {"code_challenge", pkce_challenge(attempt.code_verifier)},
            {"code_challenge_method", "S256"}});
  return attempt;
}

Result<std::pair<int, Json>> OidcClient::token_request(
    const std::vector<std::pair<std::string, std::string>>& fields) {
  auto found = provider();
  if (!found) return found.error();
  net::HttpRequest request;
  request.method = "POST";
  request.body = form(fields);
  request.headers = {
      {"Content-Type", "application/x-www-form-urlencoded"},
      {"Authorization", "Basic " + base64_encode(net::url_encode(settings_.client_id) + ":" +
                                                 net::url_encode(settings_.client_secret))}};
  auto response = call(found->token_endpoint, settings_.ca_file, request, settings_.timeout_s);
  if (!response) return response.error();
  auto answer = Json::parse(response->body, nullptr, false);
  if (answer.is_discarded() || !answer.is_object()) answer = Json::object();
  return std::pair{response->status, std::move(answer)};
}

Result<DirectoryAccount> OidcClient::checked_account(const std::string& id_token,
                                                     const IdTokenExpectations& expected) {
  auto current = keys(false);
  if (!current) return current.error();
  auto claims = verify_id_token(id_token, *current, expected);
  if (!claims && claims.error().code == ErrorCode::not_found) {
    auto refreshed = keys(true);
    if (!refreshed) return refreshed.error();
    claims = verify_id_token(id_token, *refreshed, expected);
  }
  if (!claims) return make_error(ErrorCode::unauthorized, claims.error().message);
  return account_of(*claims);
}

Result<OidcSignIn> OidcClient::finish(const std::string& code, const OidcAttempt& attempt,
                                      const std::string& redirect_uri, std::int64_t now_seconds) {
  auto answer = token_request({{"grant_type", "authorization_code"},
                               {"code", code},
                               {"redirect_uri", redirect_uri},
                               {"code_verifier", attempt.code_verifier}});
  if (!answer) return answer.error();
  const auto& [status, body] = *answer;
  if (status != 200) {
    return make_error(ErrorCode::unauthorized,
                      fmt::format("the identity provider refused the sign-in's code ({} {})",
                                  status, string_member(body, "error")));
  }
  std::string id_token = string_member(body, "id_token");
  if (id_token.empty())
    return make_error(ErrorCode::unauthorized, "the identity provider sent no ID token");
  auto account = checked_account(id_token, {.issuer = settings_.issuer,
                                            .client_id = settings_.client_id,
                                            .nonce = attempt.nonce,
                                            .now_seconds = now_seconds});
  if (!account) return account.error();
  return OidcSignIn{*account, string_member(body, "refresh_token"), attempt.nonce};
}

Result<OidcRenewal> OidcClient::renew(const std::string& refresh_token, const std::string& nonce,
                                      std::int64_t now_seconds) {
  auto answer = token_request({{"grant_type", "refresh_token"}, {"refresh_token", refresh_token}});
  if (!answer) return answer.error();
  const auto& [status, body] = *answer;
  if (status == 400 && string_member(body, "error") == "invalid_grant") {
    return make_error(ErrorCode::unauthorized,
                      fmt::format("the identity provider no longer stands by the sign-in ({})",
                                  string_member(body, "error_description", "invalid_grant")));
  }
  if (status != 200) {
    return unavailable(
        fmt::format("answered a renewal with {} {}", status, string_member(body, "error")));
  }
  OidcRenewal renewal{std::nullopt, string_member(body, "refresh_token", refresh_token)};
  std::string id_token = string_member(body, "id_token");
  if (id_token.empty()) return renewal;
  auto account = checked_account(id_token, {.issuer = settings_.issuer,
                                            .client_id = settings_.client_id,
                                            .nonce = nonce,
                                            .now_seconds = now_seconds,
                                            .nonce_optional = true});
  // Not a refusal: the grant held, so this is the provider's fault or ours (a clock), and
  // must not end anyone's logins.
  if (!account)
    return unavailable("sent a renewed ID token that fails a check: " + account.error().message);
  renewal.account = *account;
  return renewal;
}

Result<DirectoryAccount> OidcClient::account_of(const Json& claims) const {
  DirectoryAccount account;
  auto username = claims.find(settings_.username_claim);
  if (username == claims.end() || !username->is_string())
    return make_error(ErrorCode::forbidden,
                      fmt::format("the ID token has no \"{}\" claim to name the user by",
                                  settings_.username_claim));
  account.username = username->get<std::string>();
  // Subjects are stable and unique per issuer; names may change hands.
  account.dn = settings_.issuer + " " + string_member(claims, "sub");
  account.uid = number_claim(claims, settings_.uid_claim);
  account.gid = number_claim(claims, settings_.gid_claim);
  auto groups = claims.find(settings_.groups_claim);
  if (groups != claims.end() && groups->is_array()) {
    for (const auto& group : *groups) {
      if (!group.is_string()) continue;
      std::string name = group.get<std::string>();
      auto slash = name.rfind('/');  // Keycloak's group paths: "/lab/ml-lab"
      if (slash != std::string::npos) name = name.substr(slash + 1);
      if (!name.empty()) account.groups.push_back(name);
    }
  }
  return account;
}

}  // namespace gpupool::auth
