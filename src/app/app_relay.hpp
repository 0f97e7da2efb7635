// The node's app relay: how the gateway reaches the web apps a node's sessions serve
// (TensorBoard, Gradio, anything listening on a port of the container) without publishing
// them. One port on the node's Jupyter address (where only the gateway connects); each
// connection names a session, a port and the session's Jupyter token
// (gateway/app_preamble.hpp), and is joined to that port of the session's container, on its
// session network, if the session is running here and the token is its own. Nothing else is
// reachable through it: not the host, not another session, not a session that is not ready.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "gateway/tcp_relay.hpp"

namespace gpupool::app {

// The container's address for a session and token (agent::Agent::app_address).
using AppAddressOf =
    std::function<Result<std::string>(const std::string& session_id, const std::string& token)>;

std::unique_ptr<gateway::TcpRelay> make_app_relay(AppAddressOf address_of);

}  // namespace gpupool::app
