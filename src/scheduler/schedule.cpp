#include "scheduler/schedule.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include <fmt/format.h>

#include "scheduler/estimates.hpp"
#include "scheduler/placement_state.hpp"

namespace gpupool::scheduler {

namespace {

// For the first blocked non-preemptible request: on each node with preemptible sessions,
// stop them youngest first until the request fits; keep the node needing the fewest.
std::vector<Preemption> plan_preemptions(const Snapshot& snapshot, const Plan& plan,
                                         const PlacementState& state) {
  std::map<std::string, const PendingRequest*> pending_by_id;
  for (const auto& pending : snapshot.pending) pending_by_id[pending.session_id] = &pending;
  const PendingRequest* blocked = nullptr;
  for (const auto& entry : plan.queued) {
    const PendingRequest* pending = pending_by_id.at(entry.session_id);
    if (!pending->request.preemptible && !entry.held_by_quota) {
      blocked = pending;
      break;
    }
  }
  if (blocked == nullptr) return {};
  Demand demand = demand_of(*blocked);
  PlacementState free_state = state;
  free_state.clear_reservations();
  if (PlacementState probe = free_state; probe.place(demand))
    return {};  // only waits behind a reservation

  std::map<std::string, std::vector<const Allocation*>> preemptible_by_node;
  for (const auto& allocation : snapshot.allocations) {
    if (allocation.preemptible) preemptible_by_node[allocation.node].push_back(&allocation);
  }
  std::vector<Preemption> best;
  for (auto& [node_name, victims] : preemptible_by_node) {
    int node = state.node_index(node_name);
    if (node < 0) continue;
    std::stable_sort(victims.begin(), victims.end(),
                     [](const Allocation* a, const Allocation* b) { return a->since > b->since; });
    PlacementState trial = free_state;
    std::vector<Preemption> chosen;
    for (const Allocation* victim : victims) {
      if (!best.empty() && chosen.size() + 1 >= best.size()) break;  // cannot beat the best
      trial.release(demand_of(*victim),
                    {node, victim->gpu_indices, {victim->jupyter_port, victim->ssh_port}});
      chosen.push_back({victim->session_id, blocked->session_id, node_name});
      if (PlacementState probe = trial; probe.place(demand)) {
        best = chosen;
        break;
      }
    }
  }
  return best;
}

// Keeps a whole-GPU request off the models whose quota limits it would pass. Returns the
// first such limit on the model the request names, which then cannot be placed at all.
const ModelLimit* exclude_models_over_limit(const std::vector<ModelLimit>& limits,
                                            const PendingRequest& pending, Demand& demand) {
  if (demand.gpus == 0) return nullptr;
  for (std::size_t index : pending.model_limits) {
    const ModelLimit& limit = limits[index];
    if (limit.remaining >= demand.gpus) continue;
    if (limit.gpu_model == demand.gpu_model) return &limit;
    demand.excluded_gpu_models.insert(limit.gpu_model);
  }
  return nullptr;
}

QueueReason over_limit_reason(const ModelLimit& limit) {
  return {.code = QueueReasonCode::over_model_quota,
          .gpu_model = limit.gpu_model,
          .holder = limit.holder,
          .limit = limit.limit};
}

// Whether the request would fit now if no model were excluded: then the quota, not the pool,
// holds it back.
const ModelLimit* limit_in_the_way(const std::vector<ModelLimit>& limits,
                                   const PendingRequest& pending, const PlacementState& state,
                                   Demand demand) {
  if (demand.excluded_gpu_models.empty()) return nullptr;
  std::set<std::string> excluded = std::move(demand.excluded_gpu_models);
  demand.excluded_gpu_models.clear();
  PlacementState probe = state;
  auto assignment = probe.place(demand);
  if (!assignment) return nullptr;
  const Node& node = state.node(assignment->node);
  const std::string& model =
      node.gpus[static_cast<std::size_t>(assignment->gpu_indices.at(0))].model;
  for (std::size_t index : pending.model_limits) {
    if (limits[index].gpu_model == model && excluded.contains(model)) return &limits[index];
  }
  return nullptr;
}

}  // namespace

Demand demand_of(const PendingRequest& pending) {
  Demand demand = demand_of(pending.request);
  demand.cuda = pending.image_cuda;
  demand.preferred_node = pending.home_node;
  return demand;
}

Demand demand_of(const Allocation& allocation) {
  Demand demand;
  demand.gpus = allocation.gpu_memory_mb > 0 ? 0 : static_cast<int>(allocation.gpu_indices.size());
  demand.gpu_memory_mb = allocation.gpu_memory_mb;
  demand.cpus = allocation.cpus;
  demand.memory_mb = allocation.memory_mb;
  demand.needs_ports = false;
  return demand;
}

Demand demand_of(const SessionRequest& request) {
  Demand demand;
  demand.gpus = request.gpu_memory_mb > 0 ? 0 : request.gpus;
  demand.gpu_memory_mb = request.gpu_memory_mb;
  demand.gpu_model = request.gpu_model;
  demand.cpus = request.cpus;
  demand.memory_mb = request.memory_mb;
  demand.node_selector = request.node_selector;
  return demand;
}

std::vector<std::size_t> queue_order(const std::vector<PendingRequest>& pending) {
  std::vector<std::size_t> order(pending.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const PendingRequest& left = pending[a];
    const PendingRequest& right = pending[b];
    if (left.request.priority != right.request.priority)
      return left.request.priority > right.request.priority;
    if (left.group_fair_share_usage != right.group_fair_share_usage)
      return left.group_fair_share_usage < right.group_fair_share_usage;
    if (left.fair_share_usage != right.fair_share_usage)
      return left.fair_share_usage < right.fair_share_usage;
    if (left.created_at != right.created_at) return left.created_at < right.created_at;
    return left.session_id < right.session_id;
  });
  return order;
}

Plan schedule(const Snapshot& snapshot, UnixMillis now) {
  PlacementState state(snapshot.nodes, now);
  state.set_workload(snapshot.workload);
  for (const auto& allocation : snapshot.allocations) {
    state.hold(allocation.node, allocation.gpu_indices, allocation.gpu_memory_mb, allocation.cpus,
               allocation.memory_mb, {allocation.jupyter_port, allocation.ssh_port});
  }

  Plan plan;
  std::vector<ModelLimit> limits = snapshot.model_limits;
  bool reserved = false;
  for (std::size_t index : queue_order(snapshot.pending)) {
    const PendingRequest& pending = snapshot.pending[index];
    Demand demand = demand_of(pending);
    const ModelLimit* over = exclude_models_over_limit(limits, pending, demand);
    std::optional<Assignment> assignment;
    if (over == nullptr) assignment = state.place(demand);
    if (!assignment && over == nullptr) over = limit_in_the_way(limits, pending, state, demand);
    if (over != nullptr) {
      // Held back by a quota, not by the pool: it reserves nothing.
      plan.queued.push_back({pending.session_id, static_cast<int>(plan.queued.size()) + 1,
                             over_limit_reason(*over), 0, true});
      continue;
    }
    if (!assignment) {
      plan.queued.push_back(
          {pending.session_id, static_cast<int>(plan.queued.size()) + 1, state.explain(demand)});
      if (!reserved) {
        // The first blocked request keeps the node closest to holding it: nothing behind it
        // may take capacity there, so backfilling never delays it.
        if (auto node = state.best_reservation(demand)) state.reserve(*node);
        reserved = true;
      }
      continue;
    }
    const Node& node = state.node(assignment->node);
    if (demand.gpus > 0) {
      const std::string& model =
          node.gpus[static_cast<std::size_t>(assignment->gpu_indices.at(0))].model;
      for (std::size_t limit : pending.model_limits) {
        if (limits[limit].gpu_model == model) limits[limit].remaining -= demand.gpus;
      }
    }
    Placement placement{pending.session_id, node.name, assignment->gpu_indices, {}, 0, 0};
    for (int gpu : assignment->gpu_indices)
      placement.gpu_uuids.push_back(node.gpus[static_cast<std::size_t>(gpu)].uuid);
    if (assignment->ports.size() == 2) {
      placement.jupyter_port = assignment->ports[0];
      placement.ssh_port = assignment->ports[1];
    }
    plan.placements.push_back(std::move(placement));
  }
  estimate_starts(snapshot, state, plan);
  plan.preemptions = plan_preemptions(snapshot, plan, state);
  return plan;
}

}  // namespace gpupool::scheduler
