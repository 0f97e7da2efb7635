#include "scheduler/schedule.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

namespace gpupool::scheduler {

namespace {

// What is still free on one node while the plan is being built.
struct NodeState {
  const Node* node = nullptr;
  std::set<int> free_gpus;
  std::set<int> used_ports;
};

bool is_live(const Node& node, UnixMillis now) {
  return now - node.last_seen <= kNodeSilenceLimitMillis;
}

int count_free_of_model(const NodeState& state, const std::string& model) {
  if (model.empty()) return static_cast<int>(state.free_gpus.size());
  return static_cast<int>(std::count_if(
      state.free_gpus.begin(), state.free_gpus.end(),
      [&](int index) { return state.node->gpus[static_cast<std::size_t>(index)].model == model; }));
}

// The two lowest free ports of the node's range, or fewer if the range is exhausted.
std::vector<int> pick_ports(const NodeState& state) {
  std::vector<int> ports;
  for (int port = state.node->port_min; port <= state.node->port_max && ports.size() < 2; ++port) {
    if (!state.used_ports.contains(port)) ports.push_back(port);
  }
  return ports;
}

std::map<std::string, NodeState> build_node_states(const Snapshot& snapshot, UnixMillis now) {
  std::map<std::string, NodeState> states;
  for (const auto& node : snapshot.nodes) {
    if (!is_live(node, now)) continue;
    NodeState state{&node, {}, {}};
    for (std::size_t i = 0; i < node.gpus.size(); ++i) state.free_gpus.insert(static_cast<int>(i));
    states.emplace(node.name, std::move(state));
  }
  for (const auto& allocation : snapshot.allocations) {
    auto it = states.find(allocation.node);
    if (it == states.end()) continue;
    for (int index : allocation.gpu_indices) it->second.free_gpus.erase(index);
    it->second.used_ports.insert(allocation.jupyter_port);
    it->second.used_ports.insert(allocation.ssh_port);
  }
  return states;
}

std::string describe_wait(const SessionRequest& request) {
  std::string model = request.gpu_model.empty() ? "" : request.gpu_model + " ";
  return fmt::format("waiting for {} free {}GPU{} on one node", request.gpus, model,
                     request.gpus == 1 ? "" : "s");
}

}  // namespace

Plan schedule(const Snapshot& snapshot, UnixMillis now) {
  auto states = build_node_states(snapshot, now);

  std::vector<const PendingRequest*> order;
  for (const auto& pending : snapshot.pending) order.push_back(&pending);
  std::sort(order.begin(), order.end(), [](const PendingRequest* a, const PendingRequest* b) {
    return a->created_at != b->created_at ? a->created_at < b->created_at
                                          : a->session_id < b->session_id;
  });

  Plan plan;
  for (const PendingRequest* pending : order) {
    const SessionRequest& request = pending->request;
    // Best fit: the feasible node left with the fewest free GPUs keeps big holes for big
    // requests. Ties go to the node name so that the plan is deterministic.
    NodeState* best = nullptr;
    int best_left = 0;
    for (auto& [name, state] : states) {
      if (request.cpus > state.node->cpus || request.memory_mb > state.node->memory_mb) continue;
      int free = count_free_of_model(state, request.gpu_model);
      if (free < request.gpus || pick_ports(state).size() < 2) continue;
      int left = static_cast<int>(state.free_gpus.size()) - request.gpus;
      if (best == nullptr || left < best_left) {
        best = &state;
        best_left = left;
      }
    }
    if (best == nullptr) {
      plan.queued.push_back(
          {pending->session_id, static_cast<int>(plan.queued.size()) + 1, describe_wait(request)});
      continue;
    }
    Placement placement{pending->session_id, best->node->name, {}, {}, 0, 0};
    for (int index : std::vector<int>(best->free_gpus.begin(), best->free_gpus.end())) {
      if (static_cast<int>(placement.gpu_indices.size()) == request.gpus) break;
      const GpuDevice& gpu = best->node->gpus[static_cast<std::size_t>(index)];
      if (!request.gpu_model.empty() && gpu.model != request.gpu_model) continue;
      placement.gpu_indices.push_back(index);
      placement.gpu_uuids.push_back(gpu.uuid);
      best->free_gpus.erase(index);
    }
    auto ports = pick_ports(*best);
    placement.jupyter_port = ports[0];
    placement.ssh_port = ports[1];
    best->used_ports.insert(ports.begin(), ports.end());
    plan.placements.push_back(std::move(placement));
  }
  return plan;
}

}  // namespace gpupool::scheduler
