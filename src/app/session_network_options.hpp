// The agent's session network from its options: the subnet pool sessions' islands come from
// and the host firewall between them (agent/session_firewall.hpp), installed at start so that
// a host where it cannot be installed is told so before anyone starts a session.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent/session_firewall.hpp"
#include "core/ipv4.hpp"
#include "core/result.hpp"

namespace gpupool::app {

struct SessionNetworkOptions {
  std::string subnets = "10.213.0.0/16";  // where each session's /28 comes from
  std::string firewall = "iptables";      // or "off": sessions can reach each other and the host
  bool internet = true;                   // false: air-gapped, sessions reach nothing outside
  std::vector<std::string> denied;        // more IPv4 blocks sessions must not reach
};

struct SessionNetwork {
  Ipv4Block subnets;
  std::unique_ptr<agent::SessionFirewall> firewall;
};

// Parses the options and installs the firewall; an Error says what to do about it.
Result<SessionNetwork> make_session_network(const SessionNetworkOptions& options);

}  // namespace gpupool::app
