// Reading the Alibaba GPU-sharing trace (cluster-trace-gpu-v2023) for replay: pods from
// jobs.csv and the cluster from nodes.csv (see shared/data/traces/alibaba-gpu-v2023/README.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace gpupool::sim {

struct TracePod {
  int gpus = 0;       // whole GPUs; 1 with gpu_milli < 1000 is a share
  int gpu_milli = 0;  // thousandths of each GPU; 0 for CPU-only pods
  int cpu_milli = 0;
  std::int64_t submit_s = 0;
  std::int64_t duration_s = -1;  // -1: never scheduled in the original cluster
};

struct TraceNode {
  std::string name;
  int cpu_milli = 0;
  int gpus = 0;
  std::string model;
};

Result<std::vector<TracePod>> read_trace_pods(const std::string& path);
Result<std::vector<TraceNode>> read_trace_nodes(const std::string& path);

}  // namespace gpupool::sim
