// The fragmentation experiment of "Beware of Fragmentation" (ATC '23) on the Alibaba trace:
// pods only arrive, drawn uniformly with replacement, until the GPU they ask for passes
// 1.3 × the cluster's capacity; a pod that fits nowhere (GPU or CPU) is dropped. After every
// pod the allocated and the arrived GPU share are recorded; the figure compared is the
// unallocated share (100% − allocated) when arrivals first reach 100% of capacity.
//
// Policies: random, first-fit and best-fit baselines, FGD (fragmentation gradient descent:
// the placement that least increases the node's expected fragmentation under the trace's
// own mix of pod types), and gpupool's own PlacementState. Pure and deterministic per seed.
#pragma once

#include <string>
#include <vector>

#include "sim/trace.hpp"

namespace gpupool::sim {

enum class Policy { random, first_fit, best_fit, fgd, gpupool };

std::string_view to_string(Policy policy);

struct FragmentationResult {
  double unallocated_at_full = 0;  // fraction of GPU capacity, when arrived first reaches 100%
  int pods_arrived = 0;
  int pods_placed = 0;
};

FragmentationResult run_fragmentation(const std::vector<TraceNode>& nodes,
                                      const std::vector<TracePod>& pods, Policy policy,
                                      unsigned seed);

}  // namespace gpupool::sim
