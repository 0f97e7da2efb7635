#include "sim/fragmentation.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <optional>
#include <random>

#include "scheduler/placement_state.hpp"

namespace gpupool::sim {

namespace {

constexpr int kWholeGpu = 1000;  // GPU amounts are in thousandths, as in the trace
constexpr int kMaxGpusPerNode = 8;
constexpr double kArrivalLimit = 1.3;
constexpr std::size_t kTaskTypes = 32;  // the most common pod shapes weigh fragmentation

struct Pod {
  int gpus = 0;   // whole GPUs, or 1 for a share
  int milli = 0;  // per GPU; < 1000 only for shares
  int cpu = 0;
  bool share() const { return gpus == 1 && milli < kWholeGpu; }
  int gpu_total() const { return share() ? milli : gpus * kWholeGpu; }
};

struct NodeState {
  int cpu_free = 0;
  int gpu_count = 0;
  std::array<int, kMaxGpusPerNode> gpu_free{};
};

struct TaskType {
  Pod pod;
  double weight = 0;
};

Pod pod_of(const TracePod& trace) {
  Pod pod{trace.gpus, trace.gpus == 0 ? 0 : trace.gpu_milli, trace.cpu_milli};
  if (pod.gpus > 1 || pod.milli >= kWholeGpu) pod.milli = kWholeGpu;
  return pod;
}

bool fits(const NodeState& node, const Pod& pod) {
  if (node.cpu_free < pod.cpu) return false;
  if (pod.gpus == 0) return true;
  int free_whole = 0;
  for (int g = 0; g < node.gpu_count; ++g) {
    if (pod.share() && node.gpu_free[static_cast<std::size_t>(g)] >= pod.milli) return true;
    if (node.gpu_free[static_cast<std::size_t>(g)] == kWholeGpu) ++free_whole;
  }
  return !pod.share() && free_whole >= pod.gpus;
}

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

// The trace's own mix: the most common (gpus, gpu_milli) shapes and their shares of pods,
// each with its median CPU request.
std::vector<TaskType> task_types(const std::vector<TracePod>& pods) {
  std::map<std::pair<int, int>, std::vector<int>> cpus_by_shape;
  int gpu_pods = 0;
  for (const auto& trace : pods) {
    Pod pod = pod_of(trace);
    if (pod.gpus == 0) continue;
    cpus_by_shape[{pod.gpus, pod.milli}].push_back(pod.cpu);
    ++gpu_pods;
  }
  std::vector<TaskType> types;
  for (auto& [shape, cpus] : cpus_by_shape) {
    std::nth_element(cpus.begin(), cpus.begin() + static_cast<std::ptrdiff_t>(cpus.size() / 2),
                     cpus.end());
    types.push_back({{shape.first, shape.second, cpus[cpus.size() / 2]},
                     static_cast<double>(cpus.size()) / gpu_pods});
  }
  std::sort(types.begin(), types.end(),
            [](const TaskType& a, const TaskType& b) { return a.weight > b.weight; });
  if (types.size() > kTaskTypes) types.resize(kTaskTypes);
  double kept = 0;
  for (const auto& type : types) kept += type.weight;
  for (auto& type : types) type.weight /= kept;
  return types;
}

// Where a pod goes: a node and the GPUs it takes there.
struct Choice {
  int node = -1;
  std::vector<int> gpus;
};

void apply(NodeState& node, const Pod& pod, const std::vector<int>& gpus, int sign) {
  node.cpu_free -= sign * pod.cpu;
  for (int g : gpus)
    node.gpu_free[static_cast<std::size_t>(g)] -= sign * (pod.share() ? pod.milli : kWholeGpu);
}

// The GPUs a pod may take on a node it fits: each distinct way for a share, the lowest free
// GPUs for whole GPUs.
std::vector<std::vector<int>> gpu_options(const NodeState& node, const Pod& pod) {
  std::vector<std::vector<int>> options;
  if (pod.gpus == 0) return {{}};
  if (pod.share()) {
    std::vector<int> seen_free;
    for (int g = 0; g < node.gpu_count; ++g) {
      int free = node.gpu_free[static_cast<std::size_t>(g)];
      if (free < pod.milli ||
          std::find(seen_free.begin(), seen_free.end(), free) != seen_free.end())
        continue;
      seen_free.push_back(free);
      options.push_back({g});
    }
    return options;
  }
  std::vector<int> whole;
  for (int g = 0; g < node.gpu_count && static_cast<int>(whole.size()) < pod.gpus; ++g) {
    if (node.gpu_free[static_cast<std::size_t>(g)] == kWholeGpu) whole.push_back(g);
  }
  return {whole};
}

class Simulation {
 public:
  Simulation(const std::vector<TraceNode>& trace_nodes, const std::vector<TracePod>& pods,
             Policy policy, unsigned seed)
      : policy_(policy), random_(seed), types_(task_types(pods)) {
    for (const auto& trace : trace_nodes) {
      NodeState node;
      node.cpu_free = trace.cpu_milli;
      node.gpu_count = std::min(trace.gpus, kMaxGpusPerNode);
      for (int g = 0; g < node.gpu_count; ++g)
        node.gpu_free[static_cast<std::size_t>(g)] = kWholeGpu;
      nodes_.push_back(node);
      capacity_ += static_cast<double>(node.gpu_count) * kWholeGpu;
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
    for (const auto& trace : trace_nodes) {
      Node node;
      node.name = trace.name;
      node.cpus = trace.cpu_milli / 1000;
      node.memory_mb = std::int64_t{1} << 40;
      node.last_seen = 0;
      for (int g = 0; g < std::min(trace.gpus, kMaxGpusPerNode); ++g) {
        node.gpus.push_back({g, "", trace.model, kWholeGpu, true, {}});
      }
      gpupool_nodes_.push_back(std::move(node));
    }
    gpupool_state_.emplace(gpupool_nodes_, 0);
    std::vector<scheduler::WorkloadShape> workload;
    for (const auto& type : types_) {
      workload.push_back({type.pod.share() ? 0 : type.pod.gpus,
                          type.pod.share() ? type.pod.milli : 0, type.pod.cpu / 1000.0,
                          type.weight});
    }
    gpupool_state_->set_workload(std::move(workload));
  }

  std::optional<Choice> choose_gpupool(const Pod& pod) {
    scheduler::Demand demand;
    demand.gpus = pod.share() ? 0 : pod.gpus;
    demand.gpu_memory_mb = pod.share() ? pod.milli : 0;  // GPU "memory" in thousandths of a GPU
    demand.cpus = pod.cpu / 1000.0;
    demand.needs_ports = false;
    auto assignment = gpupool_state_->place(demand);
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
