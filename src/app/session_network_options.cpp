#include "app/session_network_options.hpp"

#include <fmt/format.h>

#include "agent/session_network.hpp"
#include "core/log.hpp"

namespace gpupool::app {

Result<SessionNetwork> make_session_network(const SessionNetworkOptions& options) {
  SessionNetwork network;
  auto subnets = parse_ipv4_block(options.subnets);
  if (!subnets)
    return make_error(subnets.error().code, "--session-subnets: " + subnets.error().message);
  if (subnets->prefix > agent::kSessionSubnetPrefix)
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("--session-subnets: a /{} holds no /{} for a session",
                                  subnets->prefix, agent::kSessionSubnetPrefix));
  network.subnets = *subnets;

  if (options.firewall == "off") {
    spdlog::warn(
        "--session-firewall=off: sessions can connect to each other, to this host's services "
        "and to 169.254.169.254; use it only where every user is trusted");
    network.firewall = std::make_unique<agent::NoFirewall>();
    return network;
  }
  if (options.firewall != "iptables")
    return make_error(ErrorCode::invalid_argument, "--session-firewall must be iptables or off");
  agent::FirewallPolicy policy;
  policy.internet = options.internet;
  for (const auto& text : options.denied) {
    auto block = parse_ipv4_block(text);
    if (!block)
      return make_error(block.error().code,
                        "--session-deny " + text + ": " + block.error().message);
    policy.denied.push_back(*block);
  }
  network.firewall = std::make_unique<agent::IptablesFirewall>(policy);
  if (auto installed = network.firewall->ensure(); !installed) {
    return make_error(
        installed.error().code,
        installed.error().message +
            "\nThe session firewall keeps sessions from reaching each other and this host; it "
            "needs root and iptables. --session-firewall=off runs without it (unsafe with "
            "untrusted users).");
  }
  spdlog::info("sessions are islands: each on a network of its own from {}; internet {}",
               network.subnets.to_string(), options.internet ? "on" : "off (air-gapped)");
  return network;
}

}  // namespace gpupool::app
