#include "sim/cluster.hpp"

#include <algorithm>
#include <map>

namespace gpupool::sim {

Pod pod_of(const TracePod& trace) {
  Pod pod{trace.gpus, trace.gpus == 0 ? 0 : trace.gpu_milli, trace.cpu_milli};
  if (pod.gpus > 1 || pod.milli >= kWholeGpu) pod.milli = kWholeGpu;
  return pod;
}

NodeState node_state_of(const TraceNode& trace) {
  NodeState node;
  node.cpu_free = trace.cpu_milli;
  node.gpu_count = std::min(trace.gpus, kMaxGpusPerNode);
  for (int g = 0; g < node.gpu_count; ++g) node.gpu_free[static_cast<std::size_t>(g)] = kWholeGpu;
  return node;
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

void apply(NodeState& node, const Pod& pod, const std::vector<int>& gpus, int sign) {
  node.cpu_free -= sign * pod.cpu;
  for (int g : gpus)
    node.gpu_free[static_cast<std::size_t>(g)] -= sign * (pod.share() ? pod.milli : kWholeGpu);
}

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

std::vector<TaskType> task_types(const std::vector<TracePod>& pods, std::size_t max_types) {
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
  if (types.size() > max_types) types.resize(max_types);
  double kept = 0;
  for (const auto& type : types) kept += type.weight;
  for (auto& type : types) type.weight /= kept;
  return types;
}

std::vector<Node> scheduler_nodes(const std::vector<TraceNode>& nodes) {
  std::vector<Node> result;
  for (const auto& trace : nodes) {
    Node node;
    node.name = trace.name;
    node.cpus = trace.cpu_milli / 1000;
    node.memory_mb = std::int64_t{1} << 40;  // the method constrains GPU and CPU only
    node.last_seen = 0;
    for (int g = 0; g < std::min(trace.gpus, kMaxGpusPerNode); ++g) {
      node.gpus.push_back({g, "", trace.model, kWholeGpu, true, {}});
    }
    result.push_back(std::move(node));
  }
  return result;
}

scheduler::Demand demand_of(const Pod& pod) {
  scheduler::Demand demand;
  demand.gpus = pod.share() ? 0 : pod.gpus;
  demand.gpu_memory_mb = pod.share() ? pod.milli : 0;
  demand.cpus = pod.cpu / 1000.0;
  demand.needs_ports = false;
  return demand;
}

std::vector<scheduler::WorkloadShape> workload_of(const std::vector<TaskType>& types) {
  std::vector<scheduler::WorkloadShape> workload;
  for (const auto& type : types) {
    workload.push_back({type.pod.share() ? 0 : type.pod.gpus, type.pod.share() ? type.pod.milli : 0,
                        type.pod.cpu / 1000.0, type.weight});
  }
  return workload;
}

}  // namespace gpupool::sim
