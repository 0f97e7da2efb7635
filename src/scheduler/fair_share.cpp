#include "scheduler/fair_share.hpp"

#include <algorithm>
#include <cmath>

namespace gpupool::scheduler {

double decayed_gpu_hours(const std::vector<UsageInterval>& intervals, UnixMillis now,
                         UnixMillis half_life) {
  double total = 0;
  for (const auto& interval : intervals) {
    UnixMillis end = interval.end == 0 ? now : std::min(interval.end, now);
    if (end <= interval.start) continue;
    double hours = static_cast<double>(end - interval.start) / 3.6e6;
    double age = static_cast<double>(now - end);
    double weight = half_life > 0 ? std::exp2(-age / static_cast<double>(half_life)) : 1.0;
    total += interval.gpus * hours * weight;
  }
  return total;
}

}  // namespace gpupool::scheduler
