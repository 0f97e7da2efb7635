// The `State` object of the Docker Engine API's container inspect, as a ContainerStatus.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/container_engine.hpp"

namespace gpupool::docker_api {

// Missing or malformed fields read as unknown (empty state, 0 times): the engine's record
// is advice for billing, never a reason to fail.
ContainerStatus container_status(const nlohmann::json& state);

// The first IPv4 address among an entry's networks (container list and inspect alike:
// NetworkSettings.Networks.<name>.IPAddress); "" when it has none.
std::string first_ipv4(const nlohmann::json& container);

}  // namespace gpupool::docker_api
