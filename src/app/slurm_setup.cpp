#include "app/slurm_setup.hpp"

#include <cmath>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "app/gpu_node_checks.hpp"
#include "core/log.hpp"
#include "slurm/slurm_command_line.hpp"

namespace gpupool::app {

namespace {

Result<std::map<std::string, std::string>> pairs(const std::string& option,
                                                 const std::vector<std::string>& items) {
  std::map<std::string, std::string> map;
  for (const auto& item : items) {
    auto equals = item.find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == item.size())
      return make_error(ErrorCode::invalid_argument,
                        fmt::format("{} {}: give NAME=VALUE", option, item));
    map[item.substr(0, equals)] = item.substr(equals + 1);
  }
  return map;
}

}  // namespace

void add_slurm_options(CLI::App& command, SlurmOptions& options) {
  auto option = [&command](const std::string& name, auto& value, const std::string& what) {
    return command.add_option(name, value, what)->group("Slurm (docs/slurm.md)");
  };
  command
      .add_flag("--slurm", options.enabled,
                "run sessions as jobs of this host's Slurm cluster (sbatch, squeue, sinfo, "
                "scancel; SLURM_CONF chooses the cluster) instead of on gpupool agents")
      ->group("Slurm (docs/slurm.md)");
  option("--slurm-partition", options.partition, "the partition sessions' jobs go to");
  option("--slurm-account", options.account, "the Slurm account jobs are charged to");
  option("--slurm-gpu-model", options.gpu_models,
         "TYPE=MODEL: Slurm's GPU GRES type as the model users ask for and prices name "
         "(repeatable; e.g. a100=A100-80GB)");
  option("--slurm-group-qos", options.group_qos,
         "GROUP=QOS: jobs of a gpupool group's members get this QOS (repeatable)");
  option("--slurm-gpu-memory-gb", options.gpu_memory_gb,
         "memory of each GPU, for the pool's view and GPU shares");
  option("--slurm-shards-per-gpu", options.shards_per_gpu,
         "each GPU's count of gres/shard in gres.conf: GPU shares run on shards, capped to "
         "their memory (needs --slurm-gpu-memory-gb); 0: whole GPUs only")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  option("--slurm-gpu-cap-library", options.gpu_cap_library,
         "the GPU-memory cap library (libgpupool_gpu_cap.so) on every node (default: where "
         "this server has its own)");
  option("--slurm-driver-cuda", options.driver_cuda,
         "the CUDA version the nodes' NVIDIA driver supports (e.g. 12.4): images needing more "
         "are refused");
  option("--slurm-images", options.images_dir,
         "where catalog images lie unpacked as root filesystems (DIR/TAG), on a filesystem "
         "every node reads")
      ->capture_default_str();
  option("--slurm-home", options.home_pattern,
         "each user's home on the nodes ({user}: the account name)")
      ->capture_default_str();
  option("--slurm-gpu-devices", options.gpu_devices, "the GPU device files on the nodes (a glob)")
      ->capture_default_str();
  option("--slurm-job-log", options.job_log, "each job's log on its node (%j: the job id)")
      ->capture_default_str();
  option("--slurm-ready-url", options.ready_url,
         "the gateway's URL as the nodes reach it (default: its public URL)");
  option("--slurm-poll-seconds", options.poll_seconds, "how often Slurm is asked about jobs")
      ->capture_default_str()
      ->check(CLI::Range(0.2, 300.0));
  option("--slurm-account-hook", options.account_hook,
         "a program that makes a user's Unix account when the site has none by that name, run "
         "as PROGRAM USER UID HOME (scripts/slurm-account-hook.sh makes local ones)")
      ->check(CLI::ExistingFile);
  option("--slurm-uid-base", options.uid_base,
         "accounts the hook makes get this plus the user's gpupool id as their uid, so each "
         "user's uid stays the same")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1000}, std::int64_t{1} << 30));
  option("--slurm-activity-seconds", options.activity_seconds,
         "how often each job reports its session's use (CPU, Jupyter, SSH, GPU) for idle "
         "reclaim")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
}

Result<services::SlurmBackendSettings> slurm_backend_settings(const SlurmOptions& options,
                                                              const std::string& gateway_url) {
  services::SlurmBackendSettings settings;
  settings.partition = options.partition;
  settings.account = options.account;
  auto models = pairs("--slurm-gpu-model", options.gpu_models);
  if (!models) return models.error();
  settings.gpu_models = std::move(*models);
  auto qos = pairs("--slurm-group-qos", options.group_qos);
  if (!qos) return qos.error();
  settings.group_qos = std::move(*qos);
  settings.gpu_memory_mb = std::llround(options.gpu_memory_gb * 1024);
  settings.shards_per_gpu = options.shards_per_gpu;
  if (settings.shards_per_gpu > 0) {
    if (settings.gpu_memory_mb <= 0)
      return make_error(ErrorCode::invalid_argument,
                        "--slurm-shards-per-gpu needs --slurm-gpu-memory-gb: a share's shards "
                        "are its part of the GPU's memory");
    // A path on the nodes, not necessarily on this host: each job checks it where it runs.
    settings.gpu_cap_library = options.gpu_cap_library;
    if (settings.gpu_cap_library.empty()) {
      auto own = find_gpu_cap_library("");
      if (!own) return own.error();
      settings.gpu_cap_library = *own;
    }
    if (!settings.gpu_cap_library.starts_with('/'))
      return make_error(ErrorCode::invalid_argument,
                        "GPU shares need the GPU-memory cap on the nodes: name it (an absolute "
                        "path) with --slurm-gpu-cap-library");
  }
  settings.driver_cuda = options.driver_cuda;
  if (!options.images_dir.starts_with('/'))
    return make_error(ErrorCode::invalid_argument, "--slurm-images must be an absolute path");
  settings.images_dir = options.images_dir;
  if (options.home_pattern.find("{user}") == std::string::npos)
    return make_error(ErrorCode::invalid_argument, "--slurm-home must hold {user}");
  settings.home_pattern = options.home_pattern;
  settings.gpu_devices = options.gpu_devices;
  settings.log_pattern = options.job_log;
  std::string base = options.ready_url.empty() ? gateway_url : options.ready_url;
  while (base.ends_with('/')) base.pop_back();
  settings.ready_url = base + "/api/v1/slurm/ready";
  settings.activity_url = base + "/api/v1/slurm/activity";
  settings.activity_seconds = options.activity_seconds;
  return settings;
}

SlurmLoop make_slurm_loop(const SlurmOptions& options, services::SlurmBackendSettings settings,
                          services::SessionService& sessions, Store& store) {
  SlurmLoop loop;
  loop.client = std::make_unique<slurm::SlurmCommandLine>(slurm::AccountHook{
      options.account_hook.empty() ? "" : std::filesystem::absolute(options.account_hook).string(),
      options.uid_base});
  loop.backend =
      std::make_unique<services::SlurmBackend>(sessions, store, *loop.client, std::move(settings));
  auto interval = std::chrono::milliseconds(std::llround(options.poll_seconds * 1000));
  // One warning per outage, not one per pass.
  loop.task = std::make_unique<PeriodicTask>(
      interval, [backend = loop.backend.get(), failing = false]() mutable {
        auto passed = backend->pass();
        // Slurm starts a job a second or two after its submission when there is room (its main
        // scheduler runs on events, throttled): quicker looks for a while tell the user then, not
        // a poll interval later.
        if (passed && *passed > 0) {
          for (int look = 0; look < 8 && passed; ++look) {
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
            passed = backend->pass();
          }
        }
        if (!passed && !failing) spdlog::warn("Slurm: {}", passed.error().message);
        if (passed && failing) spdlog::info("Slurm answers again");
        failing = !passed;
      });
  return loop;
}

}  // namespace gpupool::app
