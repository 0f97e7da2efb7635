// The Docker Engine API body for POST /containers/create, built from a ContainerSpec.
// Pure, so the container contract (caps, limits, labels, mounts) is unit-tested.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/container_engine.hpp"

namespace gpupool::docker_api {

nlohmann::json create_body(const ContainerSpec& spec);

}  // namespace gpupool::docker_api
