// The data directory's disk watermark: below it, new sessions are refused with a reason while
// running ones go on and the ledger (a few pages per entry) stays writable in what is left.
#pragma once

#include <cstdint>
#include <filesystem>

#include "core/result.hpp"

namespace gpupool::app {

// An `unavailable` Error naming the free space when `directory`'s filesystem has less than
// `min_free_mb` MiB for unprivileged writers (statvfs's f_bavail).
Status check_free_space(const std::filesystem::path& directory, std::int64_t min_free_mb);

}  // namespace gpupool::app
