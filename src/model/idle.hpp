// Idle reclaim as data: what a node measures of a session's use, and the policy that says how
// long a session may sit unused before its GPUs go back to the pool. Plain data; the rules
// that read them are services/idle_rules.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "model/quota.hpp"

namespace gpupool {

// One session's signs of use, as its node's agent last measured them. A signal the agent could
// not read is empty; the server treats a session with no CPU reading as in use (unknown is
// never idle).
struct SessionActivity {
  // Cores the container used on average since the agent's previous measurement.
  std::optional<double> cpu_cores;
  // The busiest of its GPUs: the session's own processes' share on a shared GPU, the whole
  // GPU's utilisation on one it holds alone.
  std::optional<int> gpu_utilization_percent;
  int kernels = 0;       // Jupyter kernels running
  int busy_kernels = 0;  // of those, executing code now
  int terminals = 0;     // Jupyter terminals open
  // How long ago the last kernel or terminal activity was, by the node's clock at the time of
  // the report; empty when Jupyter did not answer or has nothing open.
  std::optional<std::int64_t> jupyter_quiet_millis;
  std::optional<int> ssh_connections;  // established to the container's SSH server
};

// How long a session may sit unused. `window` 0: never reclaimed.
struct IdlePolicy {
  UnixMillis window = 0;  // unused this long → its owner is warned
  UnixMillis grace = 0;   // warned this long, still unused → it ends idle_reclaimed
  int keeps = 0;          // times its owner may say "keep it", each restarting the window
  bool exempt = false;    // never reclaimed
};

// An admin's policy for a user or a group; an empty field takes the server's default. For a
// user in several groups the most lenient group value applies; the user's own beats them all.
struct IdlePolicyRule {
  QuotaScope scope = QuotaScope::user;
  std::int64_t subject_id = 0;
  std::string subject_name;
  std::optional<std::int64_t> window_minutes;
  std::optional<std::int64_t> grace_minutes;
  std::optional<int> keeps;
  std::optional<bool> exempt;
};

}  // namespace gpupool
