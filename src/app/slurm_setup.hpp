// `gpupool server --slurm`: sessions run as jobs of the site's Slurm cluster instead of on
// gpupool's own agents. Its options, their checks, and the loop that drives the backend
// (services/slurm_backend.hpp) from a thread of its own.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/periodic_task.hpp"
#include "core/result.hpp"
#include "services/slurm_backend.hpp"

namespace gpupool::app {

struct SlurmOptions {
  bool enabled = false;
  std::string partition;
  std::string account;
  std::vector<std::string> gpu_models;  // TYPE=MODEL: Slurm's GRES type as a gpupool model
  std::vector<std::string> group_qos;   // GROUP=QOS
  double gpu_memory_gb = 0;
  int shards_per_gpu = 0;
  std::string gpu_cap_library;  // on the nodes; empty: where this server finds its own
  std::string driver_cuda;
  std::string images_dir = "/var/lib/gpupool/rootfs";
  std::string home_pattern = "/home/{user}";
  std::string gpu_devices = "/dev/nvidia[0-9]*";
  std::string job_log = "/tmp/gpupool-%j.log";
  std::string ready_url;  // empty: the gateway's URL
  double poll_seconds = 1;
  int activity_seconds = 30;
  std::string account_hook;  // empty: accounts must exist
  std::int64_t uid_base = 100000;
};

void add_slurm_options(CLI::App& command, SlurmOptions& options);

// The backend's settings from the options; `gateway_url` is where jobs report unless
// --slurm-ready-url says otherwise.
Result<services::SlurmBackendSettings> slurm_backend_settings(const SlurmOptions& options,
                                                              const std::string& gateway_url);

// The client, the backend and the task that runs a pass every poll interval; the caller keeps
// `sessions` and `store` alive while it runs, and adds the task that unpacks catalog images
// for jobs (slurm_images.hpp).
struct SlurmLoop {
  std::unique_ptr<slurm::SlurmClient> client;
  std::unique_ptr<services::SlurmBackend> backend;
  std::unique_ptr<PeriodicTask> task;
  std::unique_ptr<PeriodicTask> unpacker;
};
SlurmLoop make_slurm_loop(const SlurmOptions& options, services::SlurmBackendSettings settings,
                          services::SessionService& sessions, Store& store);

}  // namespace gpupool::app
