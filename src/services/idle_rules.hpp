// The idle rules that are not lifecycle transitions, as pure functions: whether a node's
// report shows a session in use, and which policy applies to a user. The transitions they
// feed (warn, reclaim, keep) are in session_lifecycle.hpp.
//
// A session is idle only when every signal is quiet: its GPUs (its own processes on a shared
// one), its container's CPU, its Jupyter kernels and terminals, and SSH connections. A signal
// the node could not read never makes a session idle: without a CPU reading it counts as used.
#pragma once

#include <optional>
#include <vector>

#include "core/clock.hpp"
#include "model/idle.hpp"

namespace gpupool::services {

// Below these a session's GPUs and CPU count as quiet. An idle notebook server with an idle
// kernel and an idle sshd stay well under a tenth of a core.
struct IdleThresholds {
  double cpu_cores = 0.1;
  int gpu_percent = 5;
};

// When the report shows the session last in use: `now` when any signal is busy (or the CPU
// could not be read), now − Jupyter's quiet time when only Jupyter saw use lately, nothing
// when it shows no use at all.
std::optional<UnixMillis> last_use_in(const SessionActivity& activity,
                                      const IdleThresholds& thresholds, UnixMillis now);

// The policy for a user from their own rule and their groups' (model/idle.hpp says how they
// combine), with `defaults` for what none of them sets.
IdlePolicy resolve_idle_policy(const std::vector<IdlePolicyRule>& rules,
                               const IdlePolicy& defaults);

}  // namespace gpupool::services
