#include "services/telemetry_board.hpp"

namespace gpupool::services {

void TelemetryBoard::record(const std::string& node, std::vector<GpuReading> readings,
                            UnixMillis now, std::optional<NodeDisk> disk) {
  {
    std::lock_guard lock(mutex_);
    nodes_[node] = {now, std::move(readings), disk};
  }
  ++version_;
}

std::map<std::string, NodeReadings> TelemetryBoard::snapshot() const {
  std::lock_guard lock(mutex_);
  return nodes_;
}

std::vector<SessionGpuReading> TelemetryBoard::session_use(const std::string& node,
                                                           const std::string& session_id,
                                                           UnixMillis fresh_since) const {
  std::vector<SessionGpuReading> found;
  std::lock_guard lock(mutex_);
  auto readings = nodes_.find(node);
  if (readings == nodes_.end() || readings->second.read_at < fresh_since) return found;
  for (const auto& gpu : readings->second.gpus) {
    for (const auto& use : gpu.sessions) {
      if (use.session_id == session_id) found.push_back({gpu.index, use});
    }
  }
  return found;
}

}  // namespace gpupool::services
