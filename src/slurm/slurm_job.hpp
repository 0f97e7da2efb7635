// What gpupool knows of a Slurm cluster: its jobs, its nodes, and what a session's job asks
// for. Plain data, read from Slurm's own output (slurm_json.hpp) and written as sbatch's
// arguments (job_script.hpp); no Slurm release's field names leak past the parsers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace gpupool::slurm {

// The prefix of every job gpupool submits: "gpupool-<session id>". Jobs without it belong to
// the cluster's other users and are left alone.
inline constexpr std::string_view kJobNamePrefix = "gpupool-";

struct SlurmJob {
  std::int64_t id = 0;
  std::string name;
  // Slurm's base state in capitals: PENDING, RUNNING, COMPLETED, TIMEOUT, CANCELLED, FAILED,
  // NODE_FAIL, PREEMPTED, OUT_OF_MEMORY, BOOT_FAIL, DEADLINE, SUSPENDED, ...
  std::string state;
  std::string reason;  // why it pends (Resources, Priority, QOSMaxGRESPerUser, ...); "None"
  std::string user;
  std::string node;  // the (first) node it runs on; empty while pending
  UnixMillis submitted_at = 0;
  UnixMillis started_at = 0;            // 0 until it starts
  UnixMillis ended_at = 0;              // 0 until it ends
  std::int64_t time_limit_minutes = 0;  // 0: none
  std::string gpu_type;                 // "a100"; empty when untyped or none
  std::vector<int> gpu_indices;  // the node's GPUs it holds, whole or by shards (Slurm's IDX)

  bool pending() const { return state == "PENDING"; }
  bool running() const { return state == "RUNNING" || state == "COMPLETING"; }
  // Whether it is over: any state but pending, running, suspended and the like.
  bool finished() const;
};

struct SlurmGres {
  std::string name;  // "gpu", "shard"
  std::string type;  // "a100"; empty when untyped
  int count = 0;
};

struct SlurmNode {
  std::string name;
  std::string address;              // NodeAddr: where its jobs' ports are reached
  std::vector<std::string> states;  // lower case: "idle", "mixed", "allocated", "down", "drain"
  std::vector<SlurmGres> gres;
  int cpus = 0;
  std::int64_t memory_mb = 0;
  std::vector<std::string> partitions;

  // Down, drained, failing or not responding: takes no new jobs.
  bool unusable() const;
};

// One session's job, as sbatch is to be asked for it.
struct JobRequest {
  std::string name;           // kJobNamePrefix + session id
  std::string user;           // the Unix account it runs as
  std::int64_t owner_id = 0;  // the user's gpupool id (a new account's stable uid)
  int directory_uid = 0;      // the user's uid in the organisation's directory; 0: none
  std::string home;           // the user's home on the nodes
  std::string partition;
  std::string qos;       // empty: the account's default
  std::string account;   // empty: the user's default
  std::string gpu_type;  // empty: any type
  int gpus = 0;
  int shards = 0;  // instead of whole GPUs: shards of one GPU (Slurm's gres/shard)
  double cpus = 1;
  std::int64_t memory_mb = 0;
  std::int64_t time_limit_minutes = 0;  // 0: the partition's limit
  std::string log_path;                 // its stdout and stderr
  std::string script;  // the batch script, fed to sbatch on stdin (never on a command line)
};

}  // namespace gpupool::slurm
