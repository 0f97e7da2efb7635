// TelemetryBoard: the latest GPU readings (and disk use) of every node, as their agents last
// sent them.
//
// Kept in memory, not in the store: readings change at every sync and are worth nothing once
// newer ones arrive, and writing them would wake every live view and empty the proxy's route
// cache each second. After a restart the board fills again within one sync. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "model/gpu_reading.hpp"
#include "model/node.hpp"

namespace gpupool::services {

// One GPU's use by one session: the GPU's index on its node and what the session takes of it.
struct SessionGpuReading {
  int gpu_index = 0;
  SessionGpuUse use;
};

struct NodeReadings {
  UnixMillis read_at = 0;  // the server's clock when the readings arrived
  std::vector<GpuReading> gpus;
  std::optional<NodeDisk> disk = {};  // once its agent has measured it
};

class TelemetryBoard {
 public:
  // Replaces what `node` reported before; an empty list means its probe could not read.
  void record(const std::string& node, std::vector<GpuReading> readings, UnixMillis now,
              std::optional<NodeDisk> disk = {});
  std::map<std::string, NodeReadings> snapshot() const;
  // What the session's processes use of each GPU of `node`, from readings that arrived at
  // `fresh_since` or later (a silent node's figures describe the past); empty when none.
  std::vector<SessionGpuReading> session_use(const std::string& node, const std::string& session_id,
                                             UnixMillis fresh_since) const;
  // Moves whenever readings arrive, so a live view knows when to look again.
  std::uint64_t version() const { return version_.load(); }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, NodeReadings> nodes_;  // guarded by mutex_
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace gpupool::services
