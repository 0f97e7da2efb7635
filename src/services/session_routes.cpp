#include "services/session_routes.hpp"

namespace gpupool::services {

Result<std::optional<SessionRoute>> SessionRoutes::find(const std::string& session_id) {
  return remembered_.get(session_id, [&] { return load(session_id); });
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
