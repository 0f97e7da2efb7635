// `gpupool sim`: replays a cluster trace through the scheduler in simulated time.
#pragma once

#include <string>

namespace gpupool::app {

struct SimOptions {
  std::string trace_dir = "../shared/data/traces/alibaba-gpu-v2023";
  int seeds = 10;
  std::string policies = "random,first-fit,best-fit,fgd,gpupool";
  int replay_nodes = 16;
};

// The fragmentation experiment; prints a table and returns the exit code.
int run_sim_fragmentation(const SimOptions& options);
// The time-ordered replay on a scaled-down cluster: gpupool's queue against FIFO first-fit.
int run_sim_replay(const SimOptions& options);

}  // namespace gpupool::app
