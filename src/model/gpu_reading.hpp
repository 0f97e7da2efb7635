// GpuReading: what one GPU is doing at one moment (utilisation, memory, temperature, power),
// as its node's probe reads it. Plain data. A field is empty when the GPU or its driver cannot
// report it (NVML answers NOT_SUPPORTED for power on some boards, utilisation under MIG).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gpupool {

// One process's use of a GPU as the driver accounts it: the node's probe reads these by host
// process id, and the agent turns them into SessionGpuUse before anything leaves the node.
struct GpuProcessUse {
  int pid = 0;
  std::optional<std::int64_t> memory_used_mb;
  std::optional<int> utilization_percent;  // of the GPU's time, over the last sample period
};

// A session's use of one GPU: its processes' together. What tells sessions sharing a GPU
// apart, and a session that holds a GPU from one that uses it.
struct SessionGpuUse {
  std::string session_id;
  std::optional<std::int64_t> memory_used_mb;
  std::optional<int> utilization_percent;
};

struct GpuReading {
  int index = 0;                               // the GPU's index on its node
  std::optional<int> utilization_percent;      // time a kernel ran, over the last sample period
  std::optional<std::int64_t> memory_used_mb;  // device memory in use, all processes
  std::optional<int> temperature_celsius;      // the GPU die
  std::optional<double> power_watts;           // board draw
  std::optional<double> power_limit_watts;     // the limit the driver enforces
  // Uncorrected ECC errors over the GPU's life (they only grow); empty without ECC.
  std::optional<std::int64_t> ecc_uncorrected_errors;
  std::vector<GpuProcessUse> processes = {};  // the probe's, on the node only
  std::vector<SessionGpuUse> sessions = {};   // sessions with a process on the GPU
};

}  // namespace gpupool
