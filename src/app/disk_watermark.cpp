#include "app/disk_watermark.hpp"

#include <sys/statvfs.h>

#include <fmt/format.h>

namespace gpupool::app {

Status check_free_space(const std::filesystem::path& directory, std::int64_t min_free_mb) {
  struct statvfs disk {};
  if (statvfs(directory.c_str(), &disk) != 0) return {};  // cannot tell: do not refuse
  auto free_mb = static_cast<std::int64_t>(disk.f_bavail * disk.f_frsize / (1024 * 1024));
  if (free_mb >= min_free_mb) return {};
  return make_error(ErrorCode::unavailable,
                    fmt::format("the server's data disk is nearly full ({} MiB free, {} MiB kept "
                                "in reserve): new sessions are refused until an admin frees "
                                "space; running sessions go on",
                                free_mb, min_free_mb));
}

}  // namespace gpupool::app
