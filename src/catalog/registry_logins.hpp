// Credentials for the registries catalog images come from, read from a file in the format of
// Docker's own config.json (what `docker login` writes), so an admin can reuse one:
//   {"auths": {"gpus.lab:5000": {"auth": "<base64 of user:password>"}}}
// ("username" and "password" may stand instead of "auth"). Pure parsing; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gpupool::catalog {

struct RegistryLogin {
  std::string username;
  std::string password;
};

// By registry as image references name it ("gpus.lab:5000", "docker.io").
using RegistryLogins = std::map<std::string, RegistryLogin>;

Result<RegistryLogins> parse_registry_logins(std::string_view docker_config_json);

// The login for the registry an image reference names, if there is one.
std::optional<RegistryLogin> login_for(const RegistryLogins& logins, std::string_view reference);

}  // namespace gpupool::catalog
