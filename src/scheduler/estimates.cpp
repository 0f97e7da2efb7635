#include "scheduler/estimates.hpp"

#include <map>
#include <queue>

namespace gpupool::scheduler {

namespace {

// A session ending at its time limit, giving back what it holds.
struct Ending {
  UnixMillis at = 0;
  Demand demand;
  Assignment assignment;
  bool operator>(const Ending& other) const { return at > other.at; }
};

struct Waiting {
  QueueEntry* entry;
  Demand demand;
  UnixMillis runs_for = 0;  // its own time limit; 0 without one
};

}  // namespace

void estimate_starts(const Snapshot& snapshot, const PlacementState& state, Plan& plan) {
  std::priority_queue<Ending, std::vector<Ending>, std::greater<>> endings;
  for (const auto& allocation : snapshot.allocations) {
    int node = state.node_index(allocation.node);
    if (allocation.ends_at <= 0 || node < 0) continue;
    endings.push({allocation.ends_at,
                  demand_of(allocation),
                  {node, allocation.gpu_indices, {allocation.jupyter_port, allocation.ssh_port}}});
  }
  std::map<std::string, const PendingRequest*> pending_by_id;
  for (const auto& pending : snapshot.pending) pending_by_id[pending.session_id] = &pending;
  std::vector<Waiting> waiting;
  for (auto& entry : plan.queued) {
    if (entry.held_by_quota || waiting.size() == kEstimatedRequests) continue;
    const PendingRequest& pending = *pending_by_id.at(entry.session_id);
    UnixMillis runs_for = pending.request.max_hours
                              ? static_cast<UnixMillis>(*pending.request.max_hours * 3'600'000)
                              : 0;
    waiting.push_back({&entry, demand_of(pending), runs_for});
  }

  PlacementState future = state;
  std::size_t events = 0;
  while (!endings.empty() && !waiting.empty() && events < kEstimateEvents) {
    UnixMillis now = endings.top().at;
    while (!endings.empty() && endings.top().at == now && events < kEstimateEvents) {
      future.release(endings.top().demand, endings.top().assignment);
      endings.pop();
      ++events;
    }
    future.clear_reservations();
    bool reserved = false;
    std::vector<Waiting> still_waiting;
    for (auto& request : waiting) {
      auto assignment = future.place(request.demand);
      if (assignment) {
        request.entry->estimated_start = now;
        if (request.runs_for > 0)
          endings.push({now + request.runs_for, request.demand, *assignment});
        continue;
      }
      if (!reserved) {
        if (auto node = future.best_reservation(request.demand)) future.reserve(*node);
        reserved = true;
      }
      still_waiting.push_back(std::move(request));
    }
    waiting = std::move(still_waiting);
  }
}

}  // namespace gpupool::scheduler
