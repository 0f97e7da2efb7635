// Nodes that stopped syncing: after the grace period their sessions end as node_lost, billed
// up to the node's last sync, so a dead server bills nobody. The node itself needs nothing
// more: placement skips nodes silent for a minute (placement_state.hpp), and when its agent
// comes back, the containers of those sessions are released and fenced until gone
// (agent_sync.cpp).
#include <algorithm>

#include "core/log.hpp"
#include "services/notices.hpp"
#include "services/session_lifecycle.hpp"
#include "services/session_service.hpp"

namespace gpupool::services {

Status SessionService::end_sessions_of_silent_nodes() {
  if (settings_.slurm) return {};  // Slurm tells of failed nodes (NODE_FAIL)
  if (!store_.leads()) return {};  // the leading server sweeps (leader_lease.hpp)
  std::lock_guard lock(mutex_);
  UnixMillis now = clock_.now();
  auto nodes = store_.list_nodes();
  if (!nodes) return nodes.error();
  // The exact time of each node's last report, where this server has heard it since it started.
  for (auto& node : *nodes) {
    if (auto heard = heard_.find(node.name); heard != heard_.end())
      node.last_seen = std::max(node.last_seen, heard->second.last_seen);
  }
  std::erase_if(*nodes, [&](const Node& node) {
    return now - std::max(node.last_seen, started_at_) <= settings_.node_lost_after;
  });
  if (nodes->empty()) return {};  // no write, so no wait for the database's lock
  return store_.in_transaction([&]() -> Status {
    for (const auto& node : *nodes) {
      auto sessions = store_.list_sessions({std::nullopt, node.name, true, {}});
      if (!sessions) return sessions.error();
      for (const auto& session : *sessions) {
        auto lost = after_node_lost(session, node.name, node.last_seen, now);
        if (!lost.changed) continue;
        spdlog::warn("session {}: {} → ended ({}), node {} silent since {}", session.id,
                     to_string(session.state), to_string(lost.session.end_reason), node.name,
                     format_rfc3339(node.last_seen));
        GPUPOOL_TRY(store_.update_session(lost.session));
        if (lost.ended) GPUPOOL_TRY(accounts_.charge(lost.session));
        if (lost.ended && worth_telling_ended(lost.session))
          GPUPOOL_TRY(tell_locked(ended_notice(lost.session, now)));
      }
    }
    return Status{};
  });
}

}  // namespace gpupool::services
