// SlurmClient: what gpupool asks of a Slurm cluster — submit a session's job, list jobs and
// nodes, cancel a job. The command-line client (slurm_command_line.hpp) is the real one;
// unit tests use a fake. Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "core/result.hpp"
#include "slurm/slurm_job.hpp"

namespace gpupool::slurm {

class SlurmClient {
 public:
  virtual ~SlurmClient() = default;
  // Submits the job; its id. An `unavailable` Error when Slurm cannot be reached, an
  // `invalid_argument` one when Slurm refuses the request (its words in the message).
  virtual Result<std::int64_t> submit(const JobRequest& request) = 0;
  // gpupool's jobs (names starting with kJobNamePrefix) that Slurm still knows, finished ones
  // included for as long as the controller keeps them (MinJobAge).
  virtual Result<std::vector<SlurmJob>> jobs() = 0;
  virtual Result<std::vector<SlurmNode>> nodes() = 0;
  // Cancels the job; cancelling one that already ended is no error.
  virtual Status cancel(std::int64_t job_id) = 0;
};

}  // namespace gpupool::slurm
