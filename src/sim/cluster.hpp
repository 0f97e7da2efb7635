// The trace's cluster as the simulators see it: GPU amounts in thousandths of a GPU (as in
// the trace), CPU in millicores, and the conversions to the scheduler's own types so that
// gpupool's policy runs the production PlacementState. Pure.
#pragma once

#include <array>
#include <vector>

#include "scheduler/placement_state.hpp"
#include "sim/trace.hpp"

namespace gpupool::sim {

constexpr int kWholeGpu = 1000;  // GPU amounts are in thousandths, as in the trace
constexpr int kMaxGpusPerNode = 8;

// What a pod asks for.
struct Pod {
  int gpus = 0;   // whole GPUs, or 1 for a share
  int milli = 0;  // per GPU; < 1000 only for shares
  int cpu = 0;
  bool share() const { return gpus == 1 && milli < kWholeGpu; }
  int gpu_total() const { return share() ? milli : gpus * kWholeGpu; }
};

// What is free on one node.
struct NodeState {
  int cpu_free = 0;
  int gpu_count = 0;
  std::array<int, kMaxGpusPerNode> gpu_free{};
};

// A common pod shape and its share of the trace's GPU pods.
struct TaskType {
  Pod pod;
  double weight = 0;
};

Pod pod_of(const TracePod& trace);
NodeState node_state_of(const TraceNode& trace);
bool fits(const NodeState& node, const Pod& pod);
// Takes (sign +1) or gives back (sign −1) what the pod uses on those GPUs.
void apply(NodeState& node, const Pod& pod, const std::vector<int>& gpus, int sign);
// The GPUs a pod may take on a node it fits: each distinct way for a share, the lowest free
// GPUs for whole GPUs.
std::vector<std::vector<int>> gpu_options(const NodeState& node, const Pod& pod);
// The trace's own mix: the most common (gpus, gpu_milli) shapes and their shares of GPU
// pods, each with its median CPU request.
std::vector<TaskType> task_types(const std::vector<TracePod>& pods, std::size_t max_types);

// The same cluster and requests in the scheduler's terms ("GPU memory" in thousandths).
std::vector<Node> scheduler_nodes(const std::vector<TraceNode>& nodes);
scheduler::Demand demand_of(const Pod& pod);
std::vector<scheduler::WorkloadShape> workload_of(const std::vector<TaskType>& types);

}  // namespace gpupool::sim
