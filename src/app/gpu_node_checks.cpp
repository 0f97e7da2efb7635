#include "app/gpu_node_checks.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "agent/container_toolkit.hpp"
#include "core/command.hpp"
#include "core/log.hpp"

namespace gpupool::app {

namespace fs = std::filesystem;

Result<std::string> check_container_toolkit() {
  for (const char* tool : {"nvidia-ctk", "nvidia-container-cli"}) {
    auto answer = run_command({tool, "--version"});
    if (!answer || answer->exit_code != 0) continue;
    auto version = agent::parse_toolkit_version(answer->output);
    if (!version) continue;
    GPUPOOL_TRY(agent::check_toolkit_version(*version));
    return fmt::format("{}.{}.{}", version->major, version->minor, version->patch);
  }
  return make_error(ErrorCode::unavailable,
                    "the NVIDIA container toolkit does not answer (neither `nvidia-ctk "
                    "--version` nor `nvidia-container-cli --version`): sessions could not be "
                    "given their GPUs; install 1.17.8 or newer");
}

Result<agent::GpuAttachment> choose_gpu_attachment(const EngineIdentity& engine,
                                                   const std::string& wanted,
                                                   const GpuInventory& inventory) {
  std::vector<std::string> uuids;
  for (const auto& gpu : inventory.gpus) uuids.push_back(gpu.uuid);
  auto known =
      engine.cdi_devices ? *engine.cdi_devices : agent::cdi_devices_in(engine.cdi_spec_dirs);
  auto attachment = agent::choose_gpu_attachment(engine, wanted, uuids, known);
  if (!attachment) return attachment.error();
  spdlog::info("sessions are given their GPUs {}",
               *attachment == agent::GpuAttachment::cdi
                   ? "by CDI name (nvidia.com/gpu=<UUID>)"
                   : "through the engine's nvidia device driver, by UUID");
  return attachment;
}

Result<std::string> find_gpu_cap_library(const std::string& configured) {
  constexpr const char* kName = "libgpupool_gpu_cap.so";
  if (!configured.empty()) {
    std::error_code error;
    if (!fs::is_regular_file(configured, error)) {
      return make_error(ErrorCode::invalid_argument,
                        fmt::format("--gpu-cap-library {}: no such file", configured));
    }
    return fs::absolute(configured).string();
  }
  std::error_code error;
  fs::path program = fs::read_symlink("/proc/self/exe", error);
  if (error) return std::string();
  for (const auto& candidate : {program.parent_path() / kName,
                                program.parent_path().parent_path() / "lib/gpupool" / kName}) {
    if (fs::is_regular_file(candidate, error)) return candidate.string();
  }
  return std::string();
}

}  // namespace gpupool::app
