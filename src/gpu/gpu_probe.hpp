// GpuProbe: what GPUs this node has. NVML on real hosts, a simulated set elsewhere.
//
// Implementations are thread-safe. Telemetry (utilisation, temperature, power) extends this
// interface in the GPU issue.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "model/node.hpp"

namespace gpupool {

struct GpuInventory {
  std::vector<GpuDevice> gpus;
  std::string driver_cuda;  // highest CUDA version the driver supports; empty if unknown
  bool simulated = false;
};

class GpuProbe {
 public:
  virtual ~GpuProbe() = default;
  virtual Result<GpuInventory> discover() = 0;
};

// Parses "4xA100-80GB" or "2xA100-80GB,2xH100-80GB" into a simulated probe. The memory
// comes from the "-NNGB" suffix (default 16 GB).
Result<std::unique_ptr<GpuProbe>> make_simulated_gpu_probe(const std::string& spec);

// NVML through dlopen("libnvidia-ml.so.1"); an `unavailable` Error when the library or a
// GPU is absent, so callers can fall back to simulation.
Result<std::unique_ptr<GpuProbe>> make_nvml_gpu_probe();

}  // namespace gpupool
