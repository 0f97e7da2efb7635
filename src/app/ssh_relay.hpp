// SSH through the gateway host (`gpupool server --ssh-gateway-ports LOW-HIGH`), for GPU
// servers on a private network: each running session holds a port of that range on the
// gateway, relayed to its SSH port on its node (gateway/tcp_relay.hpp).
#pragma once

#include <memory>

#include "gateway/tcp_relay.hpp"
#include "store/store.hpp"

namespace gpupool::app {

// Leads a gateway port to the running session holding it: its node's address as the server
// knows it from the agent's own connections (not one the agent names), and its SSH port.
std::unique_ptr<gateway::TcpRelay> make_ssh_relay(Store& store);

}  // namespace gpupool::app
