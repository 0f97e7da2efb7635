#include "app/session_disk.hpp"

#include <fmt/format.h>

#include "core/random.hpp"

namespace gpupool::app {

Status check_disk_bound(ContainerEngine& engine, std::int64_t disk_bytes) {
  if (disk_bytes == 0) return {};
  auto images = engine.list_images("io.gpupool.image.tag");
  if (!images) return images.error();
  ContainerSpec probe;
  if (!images->empty()) probe.image = images->front().reference;
  if (probe.image.empty()) return make_error(ErrorCode::unavailable, "no session image to check");
  probe.name = "gpupool-disk-check-" + random_hex(4);
  probe.command = {"true"};
  probe.disk_bytes = disk_bytes;
  auto created = engine.create_container(probe);
  if (!created) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("--session-disk-gb: this engine's storage cannot bound a "
                                  "container's writable layer (overlay2 on XFS mounted with "
                                  "pquota, btrfs or zfs can); it says: {}",
                                  created.error().message));
  }
  return engine.remove_container(*created);
}

}  // namespace gpupool::app
