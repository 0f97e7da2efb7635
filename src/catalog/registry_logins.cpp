#include "catalog/registry_logins.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "catalog/image_reference.hpp"
#include "core/base64.hpp"
#include "core/json_input.hpp"

namespace gpupool::catalog {
namespace {

Error invalid(std::string_view why) {
  return make_error(ErrorCode::invalid_argument, fmt::format("registry credentials: {}", why));
}

// "https://index.docker.io/v1/" → "docker.io"; "gpus.lab:5000" stays.
std::string registry_key(std::string_view key) {
  if (auto scheme = key.find("://"); scheme != std::string_view::npos)
    key.remove_prefix(scheme + 3);
  key = key.substr(0, key.find('/'));
  if (key == "index.docker.io" || key == "registry-1.docker.io") return std::string(kDockerHub);
  return std::string(key);
}

}  // namespace

Result<RegistryLogins> parse_registry_logins(std::string_view docker_config_json) {
  auto config = nlohmann::json::parse(docker_config_json, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) return invalid("not a JSON object");
  auto auths = config.find("auths");
  if (auths == config.end() || !auths->is_object()) return invalid("no \"auths\" object");
  RegistryLogins logins;
  for (const auto& [key, entry] : auths->items()) {
    if (!entry.is_object()) return invalid(fmt::format("\"{}\" is not an object", key));
    RegistryLogin login{string_member(entry, "username"), string_member(entry, "password")};
    if (auto auth = string_member(entry, "auth"); !auth.empty()) {
      auto decoded = base64_decode(auth);
      auto colon = decoded ? decoded->find(':') : std::string::npos;
      if (colon == std::string::npos)
        return invalid(fmt::format("\"{}\": \"auth\" is not base64 of user:password", key));
      login = {decoded->substr(0, colon), decoded->substr(colon + 1)};
    }
    if (login.username.empty() || login.password.empty())
      return invalid(fmt::format("\"{}\" has no user name and password", key));
    logins[registry_key(key)] = std::move(login);
  }
  return logins;
}

std::optional<RegistryLogin> login_for(const RegistryLogins& logins, std::string_view reference) {
  auto parsed = parse_image_reference(reference);
  if (!parsed) return std::nullopt;
  auto found = logins.find(parsed->registry);
  if (found == logins.end()) return std::nullopt;
  return found->second;
}

}  // namespace gpupool::catalog
