// Reading Slurm's JSON output (`squeue --json`, `sinfo --json`) into plain data. Slurm's
// schema changes with its releases: 22.05 (OpenAPI v0.0.38) writes plain numbers and a
// state string, 23.02 and later write numbers as {"set", "infinite", "number"} and states as
// lists. Both are read here and nowhere else. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "slurm/slurm_job.hpp"

namespace gpupool::slurm {

// Every job in squeue's answer; an `unavailable` Error when it is not JSON or Slurm reports
// errors in it.
Result<std::vector<SlurmJob>> parse_jobs(std::string_view squeue_json);

// Every node in sinfo's answer.
Result<std::vector<SlurmNode>> parse_nodes(std::string_view sinfo_json);

// "gpu:a100:2,shard:8(S:0-1)" → {gpu a100 2}, {shard "" 8}.
std::vector<SlurmGres> parse_gres(std::string_view text);

// The GPUs of "gpu:a100:2(IDX:0,2-3)" (squeue's gres_detail): type "a100", indices 0,2,3;
// of "shard:2(IDX:1)": the GPU 1 the shards are on (type left as it was).
void parse_gres_detail(std::string_view text, std::string& type, std::vector<int>& indices);

}  // namespace gpupool::slurm
