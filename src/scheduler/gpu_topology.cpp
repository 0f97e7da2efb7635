#include "scheduler/gpu_topology.hpp"

#include <algorithm>
#include <climits>
#include <utility>

namespace gpupool::scheduler {

int link_cost(const Node& node, int a, int b) {
  if (a == b) return 0;
  const auto& links = node.gpus[static_cast<std::size_t>(a)].links;
  return static_cast<std::size_t>(b) < links.size()
             ? static_cast<int>(links[static_cast<std::size_t>(b)])
             : static_cast<int>(GpuLink::system);
}

std::vector<int> best_connected(const Node& node, const std::vector<int>& free, int count) {
  if (static_cast<int>(free.size()) <= count || count <= 1) {
    return std::vector<int>(free.begin(),
                            free.begin() + std::min<std::ptrdiff_t>(count, std::ssize(free)));
  }
  // Grow a set from each seed, always adding the GPU closest to those already chosen; keep
  // the set whose worst link is best, then whose links sum lowest. Deterministic: ties keep
  // the earlier (lower-indexed) choice.
  std::vector<int> best;
  std::pair<int, int> best_cost{INT32_MAX, INT32_MAX};
  for (int seed : free) {
    std::vector<int> chosen = {seed};
    while (static_cast<int>(chosen.size()) < count) {
      int pick = -1;
      int pick_cost = INT32_MAX;
      for (int candidate : free) {
        if (std::find(chosen.begin(), chosen.end(), candidate) != chosen.end()) continue;
        int cost = 0;
        for (int member : chosen) cost += link_cost(node, candidate, member);
        if (cost < pick_cost) {
          pick = candidate;
          pick_cost = cost;
        }
      }
      chosen.push_back(pick);
    }
    std::pair<int, int> cost{0, 0};
    for (int a : chosen) {
      for (int b : chosen) {
        cost.first = std::max(cost.first, link_cost(node, a, b));
        cost.second += link_cost(node, a, b);
      }
    }
    if (cost < best_cost) {
      best_cost = cost;
      best = chosen;
    }
  }
  std::sort(best.begin(), best.end());
  return best;
}

}  // namespace gpupool::scheduler
