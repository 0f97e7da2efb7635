// Reading the engine's archive answers (GET /containers/{id}/archive is a tar stream).
// Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gpupool::docker_api {

// The contents of the first entry of a ustar archive, which must be a regular file of at
// most `max_size` bytes.
Result<std::string> single_file_from_tar(std::string_view archive, std::size_t max_size);

}  // namespace gpupool::docker_api
