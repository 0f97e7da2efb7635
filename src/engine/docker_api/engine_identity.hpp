// The Docker Engine API's GET /version and GET /info answers, read as an EngineIdentity:
// Docker or Podman (whose compatible service answers the same paths), and whether a CDI
// device asked for through this API reaches the container.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/container_engine.hpp"

namespace gpupool::docker_api {

// Missing or malformed fields read as unknown; `info` may be null (the engine did not answer).
EngineIdentity engine_identity(const nlohmann::json& version, const nlohmann::json& info);

}  // namespace gpupool::docker_api
