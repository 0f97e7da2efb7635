#include "engine/docker_api/registry_auth.hpp"

#include <nlohmann/json.hpp>

#include "core/base64.hpp"
#include "net/http_client.hpp"

namespace gpupool::docker_api {

std::string registry_auth_header(const RegistryCredentials& credentials,
                                 const std::string& server_address) {
  if (credentials.empty()) return {};
  nlohmann::json auth = {{"username", credentials.username},
                         {"password", credentials.password},
                         {"serveraddress", server_address}};
  return base64url_encode(auth.dump());
}

namespace {

// Splits "name:tag" into name and tag; a colon before the last slash is a registry's port.
std::pair<std::string, std::string> split_tag(const std::string& name_and_tag) {
  auto colon = name_and_tag.rfind(':');
  if (colon == std::string::npos || name_and_tag.find('/', colon) != std::string::npos)
    return {name_and_tag, ""};
  return {name_and_tag.substr(0, colon), name_and_tag.substr(colon + 1)};
}

}  // namespace

std::string pull_target(const std::string& reference) {
  auto at = reference.find('@');
  auto [name, tag] = split_tag(reference.substr(0, at));
  // "name:tag@digest": the digest alone decides, as it does for the engine.
  if (at != std::string::npos) tag = reference.substr(at + 1);
  if (tag.empty()) tag = "latest";
  return "/images/create?fromImage=" + net::url_encode(name) + "&tag=" + net::url_encode(tag);
}

std::string registry_of(const std::string& reference) {
  auto slash = reference.find('/');
  if (slash == std::string::npos) return "docker.io";
  std::string first = reference.substr(0, slash);
  bool host = first.find_first_of(".:") != std::string::npos || first == "localhost";
  return host ? first : "docker.io";
}

}  // namespace gpupool::docker_api
