// The engine's archives: GET /containers/{id}/archive answers a tar stream, and PUT takes
// one to extract into the container.
// Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gpupool::docker_api {

// The contents of the first entry of a ustar archive, which must be a regular file of at
// most `max_size` bytes.
Result<std::string> single_file_from_tar(std::string_view archive, std::size_t max_size);

// A ustar archive of one regular file owned by root; `name` is a plain file name (at most
// 100 bytes, no slash), `mode` its permission bits.
std::string tar_of_single_file(const std::string& name, std::string_view content, unsigned mode);

}  // namespace gpupool::docker_api
