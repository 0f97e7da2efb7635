// The `State` object of the Docker Engine API's container inspect, as a ContainerStatus.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/container_engine.hpp"

namespace gpupool::docker_api {

// Missing or malformed fields read as unknown (empty state, 0 times): the engine's record
// is advice for billing, never a reason to fail.
ContainerStatus container_status(const nlohmann::json& state);

}  // namespace gpupool::docker_api
