// Node housekeeping: what the container engine takes of the disk, measured now and then and
// reported with every sync (admins see it per node), and the images gpupool pulled that
// nobody wants any more removed.
//
// Only images pulled by digest are ever collected — what gpupool pulls for catalog images,
// saved images and checks — never a tagged image (the host's own, a locally built session
// image), never one a container was made from (the engine refuses), and never one a desired
// session, a pull ahead of need, a check or a save names. One of those is removed once nothing
// has wanted it for `collect_after`; images marked for pre-pull are thus kept.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/container_engine.hpp"
#include "model/node.hpp"

namespace gpupool::agent {

struct HousekeepingSettings {
  std::chrono::milliseconds collect_after{24 * 3600 * 1000};  // 0: images are never removed
  std::chrono::milliseconds interval{5 * 60 * 1000};          // between measurements
};

// The ids of the images to remove now. `last_wanted` (image id → monotonic milliseconds) is
// the memory between calls: an image first seen counts as wanted now, and ids gone from the
// engine are forgotten.
std::vector<std::string> images_to_collect(const std::vector<EngineImage>& images,
                                           const std::set<std::string>& wanted,
                                           std::map<std::string, std::int64_t>& last_wanted,
                                           std::int64_t now, std::int64_t collect_after);

// The engine's figures as a node reports them.
NodeDisk node_disk(const EngineDiskUsage& usage);

}  // namespace gpupool::agent
