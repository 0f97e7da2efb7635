#include "app/ssh_relay.hpp"

#include <algorithm>

namespace gpupool::app {

std::unique_ptr<gateway::TcpRelay> make_ssh_relay(Store& store) {
  auto find = [&store](std::uint16_t port) -> std::optional<gateway::RelayTarget> {
    auto sessions = store.list_sessions({std::nullopt, std::nullopt, true, {}});
    if (!sessions) return std::nullopt;
    auto session = std::find_if(sessions->begin(), sessions->end(), [&](const Session& candidate) {
      return candidate.gateway_ssh_port == port && candidate.state == SessionState::running;
    });
    if (session == sessions->end()) return std::nullopt;
    auto nodes = store.list_nodes();
    if (!nodes) return std::nullopt;
    auto node = std::find_if(nodes->begin(), nodes->end(), [&](const Node& candidate) {
      return candidate.name == session->node;
    });
    if (node == nodes->end() || node->jupyter_host.empty()) return std::nullopt;
    return gateway::RelayTarget{node->jupyter_host, static_cast<std::uint16_t>(session->ssh_port)};
  };
  return std::make_unique<gateway::TcpRelay>(find);
}

}  // namespace gpupool::app
