#include "services/session_routes.hpp"

namespace gpupool::services {

Result<std::optional<SessionRoute>> SessionRoutes::find(const std::string& session_id) {
  // Read before the store is: a write made while loading leaves this entry already stale.
  std::uint64_t changes = store_.change_count();
  {
    std::lock_guard lock(mutex_);
    auto it = remembered_.find(session_id);
    if (it != remembered_.end() && it->second.changes == changes) return it->second.route;
  }
  auto route = load(session_id);
  if (!route) return route;
  std::lock_guard lock(mutex_);
  if (remembered_.size() >= kMaxRemembered) remembered_.clear();  // bounded; refills as used
  remembered_[session_id] = {changes, *route};
  return route;
}

Result<std::optional<SessionRoute>> SessionRoutes::load(const std::string& session_id) {
  auto session = store_.get_session(session_id);
  if (!session) return session.error();
  if (!*session) return std::optional<SessionRoute>{};
  const Session& found = **session;
  SessionRoute route{found.user_id, found.state, "", found.jupyter_port, found.jupyter_token};
  if (!found.node.empty()) {
    auto nodes = store_.list_nodes();
    if (!nodes) return nodes.error();
    for (const auto& node : *nodes) {
      if (node.name != found.node) continue;
      route.host = node.jupyter_host.empty() ? node.address : node.jupyter_host;
      route.app_relay_port = node.app_relay_port;
    }
  }
  return std::optional<SessionRoute>{std::move(route)};
}

}  // namespace gpupool::services
