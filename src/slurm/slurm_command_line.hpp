// The SlurmClient that runs Slurm's own commands (sbatch, squeue --json, sinfo --json,
// scancel) found on PATH, with the cluster chosen the way every Slurm client chooses it
// (SLURM_CONF, or /etc/slurm/slurm.conf). Submitting as another user (sbatch --uid) needs
// root or SlurmUser: the server runs as one of them. Thread-safe (each call is a process).
#pragma once

#include "slurm/slurm_client.hpp"

namespace gpupool::slurm {

class SlurmCommandLine final : public SlurmClient {
 public:
  Result<std::int64_t> submit(const JobRequest& request) override;
  Result<std::vector<SlurmJob>> jobs() override;
  Result<std::vector<SlurmNode>> nodes() override;
  Status cancel(std::int64_t job_id) override;
};

}  // namespace gpupool::slurm
