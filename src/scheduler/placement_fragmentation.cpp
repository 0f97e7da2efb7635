// Fragmentation-aware placement: with the recent request mix (the workload) set, each
// decision weighs the best-fit candidates by how much each would raise its node's expected
// fragmentation for that mix (fragmentation gradient descent), and keeps the lowest.
#include <algorithm>
#include <map>

#include "scheduler/placement_state.hpp"

namespace gpupool::scheduler {

// Without a workload the best fit wins outright, so one candidate is enough.
std::size_t PlacementState::candidate_limit() const {
  return workload_.empty() ? 1 : kFragmentationCandidates;
}

std::optional<Assignment> PlacementState::commit_best(const Demand& demand,
                                                      std::vector<Assignment>& candidates) {
  if (candidates.empty()) return std::nullopt;
  std::size_t chosen = 0;
  if (!workload_.empty() && candidates.size() > 1) {
    // Fragmentation gradient: the candidate that least raises its node's expected
    // fragmentation under the workload's mix; earlier (better fitting) ones win ties.
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < candidates.size(); ++c) {
      const NodeCapacity& before = capacity_[static_cast<std::size_t>(candidates[c].node)];
      std::vector<Gpu> after = before.gpus;  // only what fragmentation reads, not the ports
      take_gpus(after, demand, candidates[c].gpu_indices);
      double delta = fragmentation(after, before.free_cpus - demand.cpus) - before.fragmentation;
      if (delta < best - 1e-9) {
        best = delta;
        chosen = c;
      }
    }
  }
  Assignment assignment = std::move(candidates[chosen]);
  commit(assignment.node, demand, assignment);
  return assignment;
}

std::vector<WorkloadShape> PlacementState::workload_of(const std::vector<Demand>& requests,
                                                       std::size_t max_shapes) {
  std::map<std::tuple<int, std::int64_t, double>, int> counts;
  int total = 0;
  for (const auto& request : requests) {
    if (request.gpus == 0 && request.gpu_memory_mb == 0) continue;
    ++counts[{request.gpus, request.gpu_memory_mb, request.cpus}];
    ++total;
  }
  std::vector<WorkloadShape> shapes;
  for (const auto& [shape, count] : counts) {
    shapes.push_back({std::get<0>(shape), std::get<1>(shape), std::get<2>(shape),
                      static_cast<double>(count) / total});
  }
  std::stable_sort(
      shapes.begin(), shapes.end(),
      [](const WorkloadShape& a, const WorkloadShape& b) { return a.weight > b.weight; });
  if (shapes.size() > max_shapes) shapes.resize(max_shapes);
  return shapes;
}

double PlacementState::fragmentation(const std::vector<Gpu>& gpus, double free_cpus) const {
  double total = 0;
  for (const auto& shape : workload_) {
    bool share = shape.gpu_memory_mb > 0;
    int free_whole = 0;
    bool share_fits = false;
    for (const auto& gpu : gpus) {
      if (gpu.is_free()) ++free_whole;
      if (!gpu.exclusive && gpu.free_memory_mb >= shape.gpu_memory_mb) share_fits = true;
    }
    bool fits =
        shape.cpus <= free_cpus + kCpuEpsilon && (share ? share_fits : free_whole >= shape.gpus);
    double fragment = 0;
    for (const auto& gpu : gpus) {
      if (gpu.exclusive) continue;
      // GPU memory this shape could not use: all of it when the shape does not fit at all,
      // else what is left on GPUs too full for it.
      bool unusable = !fits || (share ? gpu.free_memory_mb < shape.gpu_memory_mb : !gpu.is_free());
      if (unusable)
        fragment += static_cast<double>(gpu.free_memory_mb) / static_cast<double>(gpu.memory_mb);
    }
    total += shape.weight * fragment;
  }
  return total;
}

}  // namespace gpupool::scheduler
