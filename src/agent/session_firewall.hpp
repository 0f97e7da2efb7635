// The host firewall that makes each session an island. Every session's bridge is named
// "gp-…" (session_network.hpp), so a handful of iptables rules cover all sessions, present
// and future:
//   - to the host itself (gateway, agent, engine, sshd, any host service): refused;
//   - to another session, directly or through its published ports: refused;
//   - to 169.254.0.0/16 (cloud metadata) and the admin's denied blocks: refused;
//   - anywhere else (the internet): allowed, unless the admin turns internet off;
//   - replies to connections made to the session (Jupyter via the gateway, SSH): allowed.
// The rules live in two chains of gpupool's own, jumped to from INPUT and from DOCKER-USER
// (which Docker keeps first in FORWARD); they are rewritten atomically by iptables-restore,
// so running sessions are never unprotected while they are installed or repaired.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/command.hpp"
#include "core/ipv4.hpp"
#include "core/result.hpp"

namespace gpupool::agent {

struct FirewallPolicy {
  bool internet = true;           // false for air-gapped sites
  std::vector<Ipv4Block> denied;  // more destinations closed to sessions (the site's LAN)
};

// The iptables-restore input (filter table, for --noflush) that rewrites gpupool's chains.
std::string firewall_rules(const FirewallPolicy& policy);

class SessionFirewall {
 public:
  virtual ~SessionFirewall() = default;
  // Installs the rules, or repairs them after someone flushed them; cheap enough to call
  // before every session start. An Error means sessions must not start.
  virtual Status ensure() = 0;
};

using CommandRunner = std::function<Result<CommandResult>(const std::vector<std::string>& argv,
                                                          const std::string& input)>;

class IptablesFirewall final : public SessionFirewall {
 public:
  explicit IptablesFirewall(FirewallPolicy policy, CommandRunner runner = run_command);
  Status ensure() override;

 private:
  Status ensure_jump(const std::string& from, const std::string& to);

  const FirewallPolicy policy_;
  const CommandRunner run_;
  std::mutex mutex_;  // one install at a time: two would both insert a missing jump
};

// For engines the agent cannot firewall (rootless, remote): sessions can reach each other and
// the host. Chosen only by an explicit option.
class NoFirewall final : public SessionFirewall {
 public:
  Status ensure() override { return {}; }
};

}  // namespace gpupool::agent
