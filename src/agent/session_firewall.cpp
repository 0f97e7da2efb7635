#include "agent/session_firewall.hpp"

#include <fmt/format.h>

#include "agent/session_network.hpp"

namespace gpupool::agent {

namespace {

constexpr const char* kInputChain = "GPUPOOL-SESSION-IN";
constexpr const char* kForwardChain = "GPUPOOL-SESSION-FWD";
// Docker evaluates this chain first in FORWARD and never flushes it.
constexpr const char* kDockerUserChain = "DOCKER-USER";
// iptables waits this long for the xtables lock another program holds.
constexpr const char* kLockWaitSeconds = "10";

std::string describe(const std::vector<std::string>& argv, const CommandResult& result) {
  std::string command;
  for (const auto& arg : argv) command += (command.empty() ? "" : " ") + arg;
  return fmt::format("`{}` exited {}: {}", command, result.exit_code, result.output.substr(0, 300));
}

}  // namespace

std::string firewall_rules(const FirewallPolicy& policy) {
  const std::string sessions = std::string("-i ") + kSessionBridgePrefix + "+";
  // REJECT, not DROP: a refused connection fails at once instead of hanging the user's tool.
  const std::string refuse = "-j REJECT --reject-with icmp-admin-prohibited";
  std::string rules = "*filter\n";
  rules += fmt::format(":{} - [0:0]\n:{} - [0:0]\n", kInputChain, kForwardChain);
  // Replies to connections the host made (the gateway to Jupyter, the readiness check) pass.
  rules += fmt::format("-A {} {} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN\n",
                       kInputChain, sessions);
  rules += fmt::format("-A {} {} {}\n", kInputChain, sessions, refuse);
  rules += fmt::format("-A {} {} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN\n",
                       kForwardChain, sessions);
  // Another session, also through its published ports (DNAT has already rewritten those).
  rules +=
      fmt::format("-A {} {} -o {}+ {}\n", kForwardChain, sessions, kSessionBridgePrefix, refuse);
  rules += fmt::format("-A {} {} -d 169.254.0.0/16 {}\n", kForwardChain, sessions, refuse);
  for (const auto& block : policy.denied)
    rules += fmt::format("-A {} {} -d {} {}\n", kForwardChain, sessions, block.to_string(), refuse);
  if (!policy.internet) rules += fmt::format("-A {} {} {}\n", kForwardChain, sessions, refuse);
  rules += "COMMIT\n";
  return rules;
}

IptablesFirewall::IptablesFirewall(FirewallPolicy policy, CommandRunner runner)
    : policy_(std::move(policy)), run_(std::move(runner)) {}

Status IptablesFirewall::ensure() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> restore = {"iptables-restore", "-w", kLockWaitSeconds, "--noflush"};
  auto restored = run_(restore, firewall_rules(policy_));
  if (!restored) return restored.error();
  if (restored->exit_code != 0)
    return make_error(ErrorCode::unavailable,
                      "cannot install the session firewall: " + describe(restore, *restored));
  // DOCKER-USER exists wherever Docker manages iptables; where it does not, nothing inserts
  // rules above ours and FORWARD jumps to it directly. Creating an existing chain fails; fine.
  (void)run_({"iptables", "-w", kLockWaitSeconds, "-N", kDockerUserChain}, "");
  if (auto jumped = ensure_jump("FORWARD", kDockerUserChain); !jumped) return jumped;
  if (auto jumped = ensure_jump(kDockerUserChain, kForwardChain); !jumped) return jumped;
  return ensure_jump("INPUT", kInputChain);
}

Status IptablesFirewall::ensure_jump(const std::string& from, const std::string& to) {
  auto check = run_({"iptables", "-w", kLockWaitSeconds, "-C", from, "-j", to}, "");
  if (!check) return check.error();
  if (check->exit_code == 0) return {};
  std::vector<std::string> insert = {"iptables", "-w", kLockWaitSeconds, "-I", from, "1", "-j", to};
  auto inserted = run_(insert, "");
  if (!inserted) return inserted.error();
  if (inserted->exit_code != 0)
    return make_error(ErrorCode::unavailable,
                      "cannot install the session firewall: " + describe(insert, *inserted));
  return {};
}

}  // namespace gpupool::agent
