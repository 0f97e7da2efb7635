// What a node with real GPUs needs before it takes sessions: a container toolkit without
// known escapes, an engine that really hands out the GPUs, and the GPU-memory cap library
// that enforces shares.
#pragma once

#include <string>

#include "agent/gpu_attachment.hpp"
#include "core/result.hpp"
#include "gpu/gpu_probe.hpp"

namespace gpupool::app {

// The toolkit's version from `nvidia-ctk --version` (or `nvidia-container-cli --version`);
// an error when neither answers or the version has known container escapes.
Result<std::string> check_container_toolkit();

// How `engine` gives sessions the inventory's GPUs (`wanted`: --gpu-devices), from the CDI
// devices the engine reports or, where it does not, the specs in its CDI directories.
Result<agent::GpuAttachment> choose_gpu_attachment(const EngineIdentity& engine,
                                                   const std::string& wanted,
                                                   const GpuInventory& inventory);

// The cap library: `configured` when set (it must exist), else libgpupool_gpu_cap.so next to
// this program or in ../lib/gpupool beside it; "" when there is none.
Result<std::string> find_gpu_cap_library(const std::string& configured);

}  // namespace gpupool::app
