// The SlurmClient that runs Slurm's own commands (sbatch, squeue --json, sinfo --json,
// scancel) found on PATH, with the cluster chosen the way every Slurm client chooses it
// (SLURM_CONF, or /etc/slurm/slurm.conf). Submitting as another user (sbatch --uid) needs
// root or SlurmUser: the server runs as one of them. Thread-safe (each call is a process).
#pragma once

#include <string>

#include "slurm/slurm_client.hpp"

namespace gpupool::slurm {

// How a session's user gets a Unix account when the site has none by that name: the admin's
// program, run as `PROGRAM USER UID HOME` (no shell; 60 s at most), creates it — in the
// site's directory, or locally on a one-machine cluster — with that uid, which stays the same
// for the user (uid_base + the user's gpupool id), and the home. Empty: accounts must exist.
struct AccountHook {
  std::string program;
  std::int64_t uid_base = 0;
};

class SlurmCommandLine final : public SlurmClient {
 public:
  explicit SlurmCommandLine(AccountHook hook = {}) : hook_(std::move(hook)) {}
  Result<std::int64_t> submit(const JobRequest& request) override;
  Result<std::vector<SlurmJob>> jobs() override;
  Result<std::vector<SlurmNode>> nodes() override;
  Status cancel(std::int64_t job_id) override;

 private:
  const AccountHook hook_;
};

}  // namespace gpupool::slurm
