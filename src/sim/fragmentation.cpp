#include "sim/fragmentation.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <optional>
#include <random>

#include "scheduler/placement_state.hpp"
#include "sim/cluster.hpp"

namespace gpupool::sim {

namespace {

constexpr double kArrivalLimit = 1.3;
constexpr std::size_t kTaskTypes = 32;  // the most common pod shapes weigh fragmentation

// GPU amount on the node that a pod of this type could not use (the FGD paper's measure).
double fragmentation_for(const NodeState& node, const Pod& type) {
  double fragment = 0;
  bool type_fits = fits(node, type);
  for (int g = 0; g < node.gpu_count; ++g) {
    int free = node.gpu_free[static_cast<std::size_t>(g)];
    if (!type_fits) {
      fragment += free;
    } else if (type.share() ? free < type.milli : free < kWholeGpu) {
      fragment += free;
    }
  }
  return fragment;
}

double expected_fragmentation(const NodeState& node, const std::vector<TaskType>& types) {
  double total = 0;
  for (const auto& type : types) total += type.weight * fragmentation_for(node, type.pod);
  return total;
}

// Where a pod goes: a node and the GPUs it takes there.
struct Choice {
  int node = -1;
  std::vector<int> gpus;
};

class Simulation {
 public:
  Simulation(const std::vector<TraceNode>& trace_nodes, const std::vector<TracePod>& pods,
             Policy policy, unsigned seed)
      : policy_(policy), random_(seed), types_(task_types(pods, kTaskTypes)) {
    for (const auto& trace : trace_nodes) {
      nodes_.push_back(node_state_of(trace));
      capacity_ += static_cast<double>(nodes_.back().gpu_count) * kWholeGpu;
    }
    if (policy == Policy::fgd) {
      for (const auto& node : nodes_)
        fragmentation_.push_back(expected_fragmentation(node, types_));
    }
    if (policy == Policy::gpupool) build_gpupool_state(trace_nodes);
  }

  std::optional<Choice> choose(const Pod& pod) {
    switch (policy_) {
      case Policy::gpupool:
        return choose_gpupool(pod);
      case Policy::random:
        return choose_random(pod);
      default:
        return choose_scored(pod);
    }
  }

  void commit(const Pod& pod, const Choice& choice) {
    NodeState& node = nodes_[static_cast<std::size_t>(choice.node)];
    apply(node, pod, choice.gpus, +1);
    if (policy_ == Policy::fgd) {
      fragmentation_[static_cast<std::size_t>(choice.node)] = expected_fragmentation(node, types_);
    }
  }

  double capacity() const { return capacity_; }
  std::mt19937& random() { return random_; }

 private:
  std::optional<Choice> choose_random(const Pod& pod) {
    std::vector<int> feasible;
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      if (fits(nodes_[n], pod)) feasible.push_back(static_cast<int>(n));
    }
    if (feasible.empty()) return std::nullopt;
    int node =
        feasible[std::uniform_int_distribution<std::size_t>(0, feasible.size() - 1)(random_)];
    auto options = gpu_options(nodes_[static_cast<std::size_t>(node)], pod);
    if (pod.share()) {  // any GPU that holds the share, not only one per free level
      options.clear();
      for (int g = 0; g < nodes_[static_cast<std::size_t>(node)].gpu_count; ++g) {
        if (nodes_[static_cast<std::size_t>(node)].gpu_free[static_cast<std::size_t>(g)] >=
            pod.milli)
          options.push_back({g});
      }
    }
    return Choice{
        node, options[std::uniform_int_distribution<std::size_t>(0, options.size() - 1)(random_)]};
  }

  // First fit, best fit and FGD: the feasible option with the lowest score, first on ties.
  std::optional<Choice> choose_scored(const Pod& pod) {
    std::optional<Choice> best;
    double best_score = std::numeric_limits<double>::infinity();
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      NodeState& node = nodes_[n];
      if (!fits(node, pod)) continue;
      for (auto& gpus : gpu_options(node, pod)) {
        double score = 0;
        if (policy_ == Policy::first_fit) {
          score = 0;
        } else {
          apply(node, pod, gpus, +1);
          score = policy_ == Policy::fgd ? expected_fragmentation(node, types_) - fragmentation_[n]
                                         : left_over(node);
          apply(node, pod, gpus, -1);
        }
        if (score < best_score) {
          best_score = score;
          best = Choice{static_cast<int>(n), gpus};
        }
        if (policy_ == Policy::first_fit) return best;
      }
    }
    return best;
  }

  // Best fit's measure: GPU left free on the node, then CPU, after the placement.
  static double left_over(const NodeState& node) {
    double gpu = 0;
    for (int g = 0; g < node.gpu_count; ++g) gpu += node.gpu_free[static_cast<std::size_t>(g)];
    return gpu * 1e6 + node.cpu_free;
  }

  void build_gpupool_state(const std::vector<TraceNode>& trace_nodes) {
    gpupool_nodes_ = scheduler_nodes(trace_nodes);
    gpupool_state_.emplace(gpupool_nodes_, 0);
    gpupool_state_->set_workload(workload_of(types_));
  }

  std::optional<Choice> choose_gpupool(const Pod& pod) {
    auto assignment = gpupool_state_->place(demand_of(pod));
    if (!assignment) return std::nullopt;
    return Choice{assignment->node, assignment->gpu_indices};
  }

  Policy policy_;
  std::mt19937 random_;
  std::vector<TaskType> types_;
  std::vector<NodeState> nodes_;
  std::vector<double> fragmentation_;  // FGD: each node's expected fragmentation now
  double capacity_ = 0;
  std::vector<Node> gpupool_nodes_;
  std::optional<scheduler::PlacementState> gpupool_state_;
};

}  // namespace

std::string_view to_string(Policy policy) {
  switch (policy) {
    case Policy::random:
      return "random";
    case Policy::first_fit:
      return "first-fit";
    case Policy::best_fit:
      return "best-fit";
    case Policy::fgd:
      return "fgd";
    case Policy::gpupool:
      return "gpupool";
  }
  return "?";
}

FragmentationResult run_fragmentation(const std::vector<TraceNode>& nodes,
                                      const std::vector<TracePod>& pods, Policy policy,
                                      unsigned seed) {
  Simulation simulation(nodes, pods, policy, seed);
  // Draws come from their own generator, so every policy sees the same pods for a seed.
  // (The method shuffles before drawing; uniform draws with replacement make that moot.)
  std::mt19937 draws(seed);
  std::uniform_int_distribution<std::size_t> pick(0, pods.size() - 1);
  FragmentationResult result;
  double arrived = 0;
  double allocated = 0;
  bool recorded = false;
  while (arrived <= kArrivalLimit * simulation.capacity()) {
    Pod pod = pod_of(pods[pick(draws)]);
    ++result.pods_arrived;
    arrived += pod.gpu_total();
    if (auto choice = simulation.choose(pod)) {
      simulation.commit(pod, *choice);
      allocated += pod.gpu_total();
      ++result.pods_placed;
    }
    if (!recorded && arrived >= simulation.capacity()) {
      result.unallocated_at_full = 1.0 - allocated / simulation.capacity();
      recorded = true;
    }
  }
  return result;
}

}  // namespace gpupool::sim
