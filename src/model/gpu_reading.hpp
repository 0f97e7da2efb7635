// GpuReading: what one GPU is doing at one moment (utilisation, memory, temperature, power),
// as its node's probe reads it. Plain data. A field is empty when the GPU or its driver cannot
// report it (NVML answers NOT_SUPPORTED for power on some boards, utilisation under MIG).
#pragma once

#include <cstdint>
#include <optional>

namespace gpupool {

struct GpuReading {
  int index = 0;                               // the GPU's index on its node
  std::optional<int> utilization_percent;      // time a kernel ran, over the last sample period
  std::optional<std::int64_t> memory_used_mb;  // device memory in use, all processes
  std::optional<int> temperature_celsius;      // the GPU die
  std::optional<double> power_watts;           // board draw
  std::optional<double> power_limit_watts;     // the limit the driver enforces
};

}  // namespace gpupool
