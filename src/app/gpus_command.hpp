// `gpupool gpus`: what this machine's GPU probe sees — the GPUs, how they are linked, the
// driver's CUDA and a reading of each — without starting anything. For checking a node
// before `gpupool up`, and NVML on new hardware.
#pragma once

#include <string>

namespace gpupool::app {

struct GpusOptions {
  std::string simulate;                    // set: this simulated set instead of NVML
  std::string nvml = "libnvidia-ml.so.1";  // the NVML library to load
  bool json = false;                       // print JSON instead of a table
};

// 0 when GPUs were found and read, 1 otherwise (with the reason on stderr).
int run_gpus(const GpusOptions& options);

}  // namespace gpupool::app
