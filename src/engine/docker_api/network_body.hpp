// The Docker Engine API's network documents: the body for POST /networks/create, built from
// a NetworkSpec, and one entry of GET /networks read back. Pure, so both are unit-tested.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/container_engine.hpp"

namespace gpupool::docker_api {

nlohmann::json network_body(const NetworkSpec& spec);
NetworkInfo network_info(const nlohmann::json& item);

}  // namespace gpupool::docker_api
