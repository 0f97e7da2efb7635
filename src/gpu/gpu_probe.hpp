// GpuProbe: what GPUs this node has and what they are doing. NVML on real hosts, a simulated
// set elsewhere.
//
// Implementations are thread-safe. The agent calls both methods once per sync (about a
// second apart), so they must be cheap.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "model/gpu_reading.hpp"
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
  // One reading per GPU, in discover()'s order. Simulated GPUs run nothing: they read idle.
  virtual Result<std::vector<GpuReading>> read_telemetry() = 0;
};

// Parses "4xA100-80GB" or "2xA100-80GB,2xH100-80GB" into a simulated probe. The memory
// comes from the "-NNGB" suffix (default 16 GB). Its GPUs read idle; with `readings_file`,
// each reading takes what that file says when it exists, so a test can make GPUs busy:
//   {"gpus": [{"index": 0, "utilization_percent": 90, "memory_used_mb": 2048,
//              "processes": [{"pid": 4242, "memory_used_mb": 1024, "utilization_percent": 60}]}]}
Result<std::unique_ptr<GpuProbe>> make_simulated_gpu_probe(const std::string& spec,
                                                           const std::string& readings_file = "");

// NVML through dlopen (the driver's "libnvidia-ml.so.1" unless told another file); an
// `unavailable` Error when the library or a GPU is absent, so callers can fall back to
// simulation.
Result<std::unique_ptr<GpuProbe>> make_nvml_gpu_probe(
    const std::string& library = "libnvidia-ml.so.1");

}  // namespace gpupool
