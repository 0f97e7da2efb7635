// SlurmBackend: gpupool's sessions run as Slurm jobs. Each pass reads Slurm's jobs and nodes
// through the SlurmClient, lets the SessionService apply them (slurm_sync), and carries out
// what it answers: sbatch for new sessions (as their users, with a fresh per-session secret
// in the script), scancel for stopped ones. It plays the part an agent plays for a node,
// for the whole cluster; Slurm places. Not thread-safe: one thread runs pass() (the
// server's Slurm loop); the service and the client it uses are.
#pragma once

#include <map>
#include <string>

#include "core/result.hpp"
#include "services/session_service.hpp"
#include "slurm/slurm_client.hpp"
#include "store/store.hpp"

namespace gpupool::services {

struct SlurmBackendSettings {
  std::string partition;  // empty: the cluster's default
  std::string account;    // empty: each user's default
  // QOS by gpupool group: a session's job gets the QOS of the first of its owner's groups
  // listed; others get the default.
  std::map<std::string, std::string> group_qos;
  // GPU model names by Slurm GRES type ("a100" → "A100-80GB"); unlisted types keep their name.
  std::map<std::string, std::string> gpu_models;
  std::int64_t gpu_memory_mb = 0;  // of each GPU, where known (the pool's view, shares)
  // GPU shares run on Slurm's gres/shard: each GPU's count of shards (gres.conf), the same on
  // every node; 0: the cluster offers no shares. A share asks for as many shards as its part
  // of the GPU's memory, rounded up.
  int shards_per_gpu = 0;
  // The GPU-memory cap library (src/gpu_cap) at this path on every node; a share needs it.
  std::string gpu_cap_library;
  std::string driver_cuda;  // the CUDA version the nodes' driver supports; "": none
  // Where jobs report their ports: the server's /api/v1/slurm/ready as the nodes reach it.
  std::string ready_url;
  // Where they report their sessions' use (for idle reclaim), and how often.
  std::string activity_url;
  int activity_seconds = 30;
  std::string ready_ca;  // the PEM certificate jobs check it with; empty: the system's CAs
  // Catalog images unpacked as root filesystems, readable on every node: <dir>/<tag>.
  std::string images_dir;
  // Each user's home on the nodes: "{user}" is replaced by the account's name.
  std::string home_pattern = "/home/{user}";
  // The device files of the nodes' GPUs, as a shell glob.
  std::string gpu_devices = "/dev/nvidia[0-9]*";
  // Each job's log (its stdout and stderr): "%j" is the job id, as sbatch reads it.
  std::string log_pattern = "/tmp/gpupool-%j.log";
};

class SlurmBackend {
 public:
  // The caller keeps `sessions`, `store` and `client` alive for the backend's life.
  SlurmBackend(SessionService& sessions, Store& store, slurm::SlurmClient& client,
               SlurmBackendSettings settings)
      : sessions_(sessions), store_(store), client_(client), settings_(std::move(settings)) {}

  // One round: observe Slurm, apply, submit and cancel; how many jobs it submitted. An Error
  // when Slurm cannot be read (sessions are left as they were: nothing is judged on a failed
  // look).
  Result<int> pass();

  // Slurm's nodes as pool nodes.
  std::vector<Node> pool_nodes(const std::vector<slurm::SlurmNode>& nodes) const;
  // The request sbatch gets for a session, with its script holding `secret`.
  Result<slurm::JobRequest> job_for(const Session& session, const std::string& secret);

  // How many shards a share of `gpu_memory_mb` asks for; an Error when shares are not offered.
  Result<int> shards_for(std::int64_t gpu_memory_mb) const;

 private:
  // True when the job was submitted.
  bool submit(const Session& session);

  SessionService& sessions_;
  Store& store_;
  slurm::SlurmClient& client_;
  const SlurmBackendSettings settings_;
};

// "pytorch2.7-cuda11.8-cudnn8-runtime" → its directory under images_dir; tags are checked
// names, and '/' (a user's saved image) becomes '_'.
std::string image_directory(const std::string& images_dir, const std::string& tag);

}  // namespace gpupool::services
