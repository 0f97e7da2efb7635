#include "services/gpu_use_meter.hpp"

#include <algorithm>

namespace gpupool::services {

void GpuUseMeter::sample(const std::string& session_id, double gpus,
                         std::optional<int> utilization_percent, UnixMillis now) {
  auto [entry, fresh] = sessions_.try_emplace(session_id, Running{now, now, 0});
  Running& running = entry->second;
  UnixMillis gap = now - running.last_sample;
  running.last_sample = now;
  if (fresh || !utilization_percent || gap <= 0) return;
  double busy = std::clamp(*utilization_percent, 0, 100) / 100.0;
  running.unwritten += gpus * busy * static_cast<double>(std::min(gap, kMaxGap)) / 1000.0;
}

double GpuUseMeter::take(const std::string& session_id, UnixMillis now, bool ended) {
  auto found = sessions_.find(session_id);
  if (found == sessions_.end()) return 0;
  double unwritten = found->second.unwritten;
  if (ended) {
    sessions_.erase(found);
    return unwritten;
  }
  if (now - found->second.last_flush < kFlushEvery) return 0;
  found->second.last_flush = now;
  found->second.unwritten = 0;
  return unwritten;
}

}  // namespace gpupool::services
