// Fair share: how much GPU time a user has had lately, with old usage decaying away.
// Pure; the server feeds it session history and passes the result to the scheduler, which
// serves users with less recent usage first within a priority class.
#pragma once

#include <vector>

#include "core/clock.hpp"

namespace gpupool::scheduler {

// One stretch of GPU use: `gpus` may be fractional (a share of a GPU).
struct UsageInterval {
  UnixMillis start = 0;
  UnixMillis end = 0;  // 0: still running
  double gpus = 0;
};

inline constexpr UnixMillis kDefaultFairShareHalfLifeMillis = 24LL * 3600 * 1000;

// Σ gpus × hours × 2^(−age / half_life), where age is how long ago the interval ended.
double decayed_gpu_hours(const std::vector<UsageInterval>& intervals, UnixMillis now,
                         UnixMillis half_life);

}  // namespace gpupool::scheduler
