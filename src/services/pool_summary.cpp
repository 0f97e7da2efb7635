// SessionService::pool(): free capacity by GPU model (whole and shared), each node's
// liveness and free GPUs, and the queue's length, for users and the portal.
#include <map>
#include <set>

#include "scheduler/placement_state.hpp"
#include "services/scheduling_inputs.hpp"
#include "services/session_service.hpp"

namespace gpupool::services {

namespace {

bool is_live(const Node& node, UnixMillis now) {
  return now - node.last_seen <= scheduler::kNodeSilenceLimitMillis;
}

}  // namespace

Result<PoolSummary> SessionService::pool() {
  auto nodes = store_.list_nodes();
  if (!nodes) return nodes.error();
  auto active = store_.list_sessions({std::nullopt, std::nullopt, true, {}});
  if (!active) return active.error();
  UnixMillis now = clock_.now();
  PoolSummary summary;
  scheduler::PlacementState state(*nodes, now);
  std::map<std::string, std::set<int>> busy;
  for (const auto& session : *active) {
    if (session.state == SessionState::queued) ++summary.queue_length;
    if (!holds_resources(session.state)) continue;
    auto allocation = allocation_of(session);
    state.hold(allocation.node, allocation.gpu_indices, allocation.gpu_memory_mb, allocation.cpus,
               allocation.memory_mb, {allocation.jupyter_port, allocation.ssh_port});
    busy[session.node].insert(session.gpu_indices.begin(), session.gpu_indices.end());
  }
  auto fences = unknown_.fences(*nodes);
  for (auto& departing : departing_.fences(*nodes)) fences.push_back(std::move(departing));
  for (const auto& fence : fences) {
    state.hold(fence.node, fence.gpu_indices, 0, 0, 0, {fence.jupyter_port, fence.ssh_port});
    busy[fence.node].insert(fence.gpu_indices.begin(), fence.gpu_indices.end());
  }
  auto free = state.free_by_model();
  std::map<std::string, ModelCapacity> models;
  for (const auto& node : *nodes) {
    bool live = is_live(node, now);
    for (const auto& gpu : node.gpus) {
      auto& model = models[gpu.model];
      model.model = gpu.model;
      model.memory_mb = gpu.memory_mb;
      ++model.total;
    }
    summary.simulated = summary.simulated || node.simulated;
    summary.node_live.push_back(live);
    summary.node_free_gpus.push_back(
        live && !node.drained && !node.removed
            ? static_cast<int>(node.gpus.size() - busy[node.name].size())
            : 0);
  }
  for (auto& [name, model] : models) {
    auto found = free.find(name);
    if (found != free.end()) {
      model.free = found->second.free_whole;
      model.shared = found->second.shared;
      model.free_memory_mb = found->second.free_memory_mb;
    }
    summary.models.push_back(model);
  }
  summary.nodes = std::move(*nodes);
  return summary;
}

}  // namespace gpupool::services
