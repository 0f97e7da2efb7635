// A session's Slurm job: sbatch's arguments and the batch script (a header of the session's
// values, then session_job.sh, which runs the session's image in a bubblewrap sandbox inside
// the job's allocation). Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "slurm/slurm_job.hpp"

namespace gpupool::slurm {

// sbatch's arguments for `request` run as the account `user_id`:`group_id` (from the
// account's passwd entry: without --gid, sbatch gives the job root's group). The script goes
// on stdin. The job gets no environment of the submitting process (--export=NONE): the
// server's own would leak into a user's job.
std::vector<std::string> sbatch_arguments(const JobRequest& request, int user_id, int group_id);

// The values a session's job runs with.
struct SessionJobValues {
  std::string session_id;
  std::string user;
  std::string home;          // the user's home on the nodes, mounted as /home/<user>
  std::string rootfs;        // the image's unpacked root filesystem, readable on every node
  std::string ready_url;     // where the job reports its Jupyter and SSH ports
  std::string activity_url;  // where it reports its session's use, every activity_seconds
  std::string activity_seconds;
  std::string ready_secret;  // proves the report is this session's job
  std::string jupyter_token;
  std::string authorized_keys;
  std::string gpu_devices;  // a glob of the device files of GPUs ("/dev/nvidia[0-9]*")
  std::string ready_ca;     // PEM the report's TLS is checked against; empty: the system's
  // A GPU share: its memory limit, and the cap library (src/gpu_cap) on the nodes that
  // enforces it in every process of the sandbox; both empty for whole GPUs.
  std::string gpu_memory_limit_mb = {};
  std::string gpu_cap = {};
};

// The batch script: each value single-quoted into a header, then session_job.sh. An
// invalid_argument Error when a value holds a character the script must not carry (NUL).
Result<std::string> session_job_script(const SessionJobValues& values);

// session_job.sh, compiled in.
const std::string& session_job_body();

// "a b'c" → 'a b'\''c'
std::string shell_quote(const std::string& text);

}  // namespace gpupool::slurm
