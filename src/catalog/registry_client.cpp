#include "catalog/registry_client.hpp"

#include <cctype>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/base64.hpp"
#include "net/http_client.hpp"

namespace gpupool::catalog {
namespace {

// Every kind of manifest an engine can pull: an index (multi-platform) is pinned as a whole.
constexpr const char* kManifestTypes =
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Error refused(const ImageReference& reference, std::string_view why) {
  return make_error(ErrorCode::unavailable,
                    fmt::format("registry {}: {}", reference.registry, why));
}

// "https://auth.docker.io/token" → endpoint and "/token".
Result<std::pair<net::HttpEndpoint, std::string>> split_url(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos ||
      !(url.starts_with("https://") || url.starts_with("http://")))
    return make_error(ErrorCode::invalid_argument, "the realm is not an http(s) URL: " + url);
  auto path_start = url.find('/', scheme_end + 3);
  std::string origin = url.substr(0, path_start);
  std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  auto endpoint = net::parse_http_endpoint(origin);
  if (!endpoint) return endpoint.error();
  return std::pair{*endpoint, path};
}

// A bearer token for the challenge, asked of its realm with the login (if any).
Result<std::string> fetch_token(const AuthChallenge& challenge, const RegistryLogin* login,
                                const ImageReference& reference, const RegistryAccess& access) {
  auto realm = split_url(challenge.realm);
  if (!realm) return refused(reference, realm.error().message);
  std::string target = realm->second;
  target += target.find('?') == std::string::npos ? '?' : '&';
  target += "service=" + net::url_encode(challenge.service);
  std::string scope = challenge.scope.empty()
                          ? fmt::format("repository:{}:pull", reference.repository)
                          : challenge.scope;
  target += "&scope=" + net::url_encode(scope);
  net::HttpRequest request{"GET", target, "", {}};
  if (login != nullptr)
    request.headers.emplace_back("Authorization",
                                 "Basic " + base64_encode(login->username + ":" + login->password));
  auto response = net::http_call(realm->first, request, access.timeout, 1024 * 1024);
  if (!response) return refused(reference, response.error().message);
  if (response->status == 401 || response->status == 403)
    return refused(reference, "the credentials were refused");
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status != 200 || !body.is_object())
    return refused(reference, fmt::format("its token service answered {}", response->status));
  for (const char* key : {"token", "access_token"}) {
    if (auto found = body.find(key); found != body.end() && found->is_string())
      return found->get<std::string>();
  }
  return refused(reference, "its token service gave no token");
}

}  // namespace

AuthChallenge parse_auth_challenge(std::string_view header) {
  AuthChallenge challenge;
  auto space = header.find(' ');
  challenge.scheme = lower(header.substr(0, space));
  if (space == std::string_view::npos) return challenge;
  std::string_view rest = header.substr(space + 1);
  while (!rest.empty()) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == ',')) rest.remove_prefix(1);
    auto equals = rest.find('=');
    if (equals == std::string_view::npos) break;
    std::string key = lower(rest.substr(0, equals));
    rest.remove_prefix(equals + 1);
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      auto close = rest.find('"', 1);
      value = std::string(rest.substr(1, close == std::string_view::npos ? rest.npos : close - 1));
      rest.remove_prefix(close == std::string_view::npos ? rest.size() : close + 1);
    } else {
      auto comma = rest.find(',');
      value = std::string(rest.substr(0, comma));
      rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma);
    }
    if (key == "realm") challenge.realm = value;
    if (key == "service") challenge.service = value;
    if (key == "scope") challenge.scope = value;
  }
  return challenge;
}

Result<std::string> resolve_digest(const ImageReference& reference, const RegistryAccess& access) {
  if (!reference.digest.empty()) return reference.digest;
  bool plain = access.insecure.contains(reference.registry);
  auto endpoint = net::parse_http_endpoint((plain ? "http://" : "https://") + reference.api_host());
  if (!endpoint) return endpoint.error();
  auto login = access.logins.find(reference.registry);
  const RegistryLogin* credentials = login == access.logins.end() ? nullptr : &login->second;

  net::HttpRequest request{
      "HEAD",
      fmt::format("/v2/{}/manifests/{}", reference.repository,
                  reference.tag.empty() ? std::string("latest") : reference.tag),
      "",
      {{"Accept", kManifestTypes}}};
  auto response = net::http_call(*endpoint, request, access.timeout, 1024 * 1024);
  if (!response) return refused(reference, response.error().message);
  if (response->status == 401) {
    auto challenge = parse_auth_challenge(response->header("WWW-Authenticate"));
    std::string authorization;
    if (challenge.scheme == "bearer") {
      auto token = fetch_token(challenge, credentials, reference, access);
      if (!token) return token.error();
      authorization = "Bearer " + *token;
    } else if (credentials != nullptr) {
      authorization = "Basic " + base64_encode(credentials->username + ":" + credentials->password);
    } else {
      return refused(reference, "it asks for credentials and there are none for it");
    }
    request.headers.emplace_back("Authorization", authorization);
    response = net::http_call(*endpoint, request, access.timeout, 1024 * 1024);
    if (!response) return refused(reference, response.error().message);
  }
  if (response->status == 401 || response->status == 403)
    return refused(reference, fmt::format("pulling {} is not allowed with the credentials given",
                                          reference.name()));
  if (response->status == 404)
    return make_error(ErrorCode::not_found,
                      fmt::format("registry {} has no {}:{}", reference.registry,
                                  reference.repository, reference.tag));
  if (response->status != 200)
    return refused(reference, fmt::format("it answered {} for the manifest", response->status));
  std::string digest = response->header("Docker-Content-Digest");
  if (!is_sha256_digest(digest))
    return refused(reference, "it did not say the manifest's sha256 digest");
  return digest;
}

}  // namespace gpupool::catalog
