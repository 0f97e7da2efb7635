// Node and GPU: what a GPU server offers, as its agent reports it. Plain data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace gpupool {

struct GpuDevice {
  int index = 0;
  std::string uuid;
  std::string model;  // e.g. "A100-80GB"
  std::int64_t memory_mb = 0;
  bool simulated = false;
};

struct Node {
  std::string name;
  std::string address;  // host users reach for SSH and published ports
  std::vector<GpuDevice> gpus;
  int cpus = 0;
  std::int64_t memory_mb = 0;
  int port_min = 0;  // published ports come from [port_min, port_max]
  int port_max = 0;
  std::string driver_cuda;  // highest CUDA version the driver supports, e.g. "12.4"; empty if none
  bool simulated = false;
  bool drained = false;  // takes no new sessions; running ones stay
  UnixMillis last_seen = 0;
};

}  // namespace gpupool
