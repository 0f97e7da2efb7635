// Nodes for scheduler tests: a GPU server with `gpus` GPUs of one model, 32 CPUs, 256 GB,
// ports 30000–30999, a CUDA 12.4 driver, last seen at `now`.
#pragma once

#include <fmt/format.h>

#include <string>

#include "model/node.hpp"

namespace gpupool::testing {

inline Node gpu_server(const std::string& name, int gpus, UnixMillis now,
                       const std::string& model = "A100-80GB", std::int64_t gpu_gb = 80) {
  Node node;
  node.name = name;
  node.cpus = 32;
  node.memory_mb = 256 * 1024;
  node.port_min = 30000;
  node.port_max = 30999;
  node.driver_cuda = "12.4";
  node.last_seen = now;
  for (int i = 0; i < gpus; ++i) {
    node.gpus.push_back({i, fmt::format("{}-{}", name, i), model, gpu_gb * 1024, true, {}});
  }
  return node;
}

}  // namespace gpupool::testing
