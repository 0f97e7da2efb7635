// How a node with real GPUs has the container engine hand each session its GPUs: through the
// NVIDIA container toolkit's `nvidia` device driver (Docker), or by CDI names
// ("nvidia.com/gpu=<UUID>") that the engine resolves through the toolkit's CDI spec (Docker
// with CDI turned on, Podman 5.4+). Chosen once, when the node starts: an engine that would
// accept the request and start the container without the GPUs (Podman's compatible API
// before 5.4 does) is refused, so no session runs, and bills, without the GPUs it was given.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "engine/container_engine.hpp"

namespace gpupool::agent {

enum class GpuAttachment {
  simulated,      // no real GPU: NVIDIA_VISIBLE_DEVICES is the only assignment
  nvidia_driver,  // DeviceRequests with Docker's `nvidia` driver, by UUID
  cdi,            // DeviceRequests with the `cdi` driver, nvidia.com/gpu=<UUID>
};

// "cdi", "nvidia", or "" for simulated GPUs: what the node reports (Node::gpu_devices).
std::string_view gpu_attachment_name(GpuAttachment attachment);

// The CDI name of a GPU in specs that name GPUs by UUID.
std::string cdi_gpu_name(const std::string& uuid);

// The fully qualified device names ("kind=name") one CDI spec defines, YAML (as
// `nvidia-ctk cdi generate` writes it) or JSON; none when it is neither.
std::vector<std::string> cdi_spec_devices(std::string_view spec);

// Those of every spec file (*.yaml, *.yml, *.json) in `dirs`; a missing directory adds none.
std::vector<std::string> cdi_devices_in(const std::vector<std::string>& dirs);

// `wanted` is "auto", "cdi" or "nvidia"; `known_devices` the CDI devices the engine's host
// defines. auto: CDI where the engine takes CDI requests and a spec names every GPU, else
// Docker's nvidia driver; Podman only ever by CDI. An error says what to install or change.
Result<GpuAttachment> choose_gpu_attachment(const EngineIdentity& engine, std::string_view wanted,
                                            const std::vector<std::string>& gpu_uuids,
                                            const std::vector<std::string>& known_devices);

}  // namespace gpupool::agent
