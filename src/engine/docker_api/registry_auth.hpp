// The Docker Engine API's X-Registry-Auth header and POST /images/create's query. Pure.
#pragma once

#include <string>

#include "engine/container_engine.hpp"

namespace gpupool::docker_api {

// base64url of {"username","password","serveraddress"}; "" for anonymous pulls (the engine
// then uses none, not whatever its host's root has logged in with).
std::string registry_auth_header(const RegistryCredentials& credentials,
                                 const std::string& server_address);

// "/images/create?fromImage=NAME&tag=TAG_OR_DIGEST": "host:5000/x:1" pulls tag 1 of
// host:5000/x, "x@sha256:…" that digest of x, "x" x's latest.
std::string pull_target(const std::string& reference);

// The registry a reference names, as the engine files credentials: "docker.io" when none.
std::string registry_of(const std::string& reference);

}  // namespace gpupool::docker_api
