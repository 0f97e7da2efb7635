// BatchJob: a session that runs as a job of the site's batch system (Slurm), and what proves
// that job's reports. Plain data.
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.hpp"

namespace gpupool {

struct BatchJob {
  std::string session_id;
  std::int64_t job_id = 0;
  // SHA-256 (hex) of the secret the job reports its ports with; the secret itself is only in
  // the job's script.
  std::string secret_hash;
  UnixMillis submitted_at = 0;
};

}  // namespace gpupool
