// The Docker Engine API's image JSON: GET /images/{name}/json read into ImageDetails, the
// configuration POST /commit takes, the writable layer GET /containers/{id}/json names, and
// GET /system/df's sizes.
// Pure.
#pragma once

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "engine/container_engine.hpp"

namespace gpupool::docker_api {

ImageDetails image_details(const nlohmann::json& inspected);

// The whole configuration, each field set: the engine fills only empty fields from the
// container it commits, so an image with no command gets a shell rather than the command that
// made the container.
nlohmann::json commit_body(const ImageDetails& config);

// GET /system/df: the sizes, and each image with its references and containers.
EngineDiskUsage disk_usage(const nlohmann::json& df);

// GraphDriver.Data.UpperDir of an overlayfs container (drivers "overlay2" and "overlay").
Result<std::string> upper_dir(const nlohmann::json& inspected_container);

}  // namespace gpupool::docker_api
