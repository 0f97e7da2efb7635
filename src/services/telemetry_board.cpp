#include "services/telemetry_board.hpp"

namespace gpupool::services {

void TelemetryBoard::record(const std::string& node, std::vector<GpuReading> readings,
                            UnixMillis now) {
  {
    std::lock_guard lock(mutex_);
    nodes_[node] = {now, std::move(readings)};
  }
  ++version_;
}

std::map<std::string, NodeReadings> TelemetryBoard::snapshot() const {
  std::lock_guard lock(mutex_);
  return nodes_;
}

}  // namespace gpupool::services
