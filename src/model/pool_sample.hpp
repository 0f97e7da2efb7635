// PoolSample: the pool at one moment, for charts over time. Plain data.
#pragma once

#include "core/clock.hpp"

namespace gpupool {

struct PoolSample {
  UnixMillis at = 0;
  double gpus = 0;       // on live nodes
  double allocated = 0;  // held by running sessions (a share counts its fraction)
  double busy = 0;       // GPUs' worth of utilisation: Σ utilisation / 100 over fresh readings
};

}  // namespace gpupool
