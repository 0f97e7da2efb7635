#include "services/idle_rules.hpp"

#include <algorithm>

namespace gpupool::services {

std::optional<UnixMillis> last_use_in(const SessionActivity& activity,
                                      const IdleThresholds& thresholds, UnixMillis now) {
  bool busy = !activity.cpu_cores || *activity.cpu_cores >= thresholds.cpu_cores ||
              activity.gpu_utilization_percent.value_or(0) >= thresholds.gpu_percent ||
              activity.busy_kernels > 0 || activity.ssh_connections.value_or(0) > 0;
  if (busy) return now;
  if (activity.jupyter_quiet_millis)
    return now - std::max<std::int64_t>(0, *activity.jupyter_quiet_millis);
  return std::nullopt;
}

IdlePolicy resolve_idle_policy(const std::vector<IdlePolicyRule>& rules,
                               const IdlePolicy& defaults) {
  constexpr UnixMillis kMinute = 60'000;
  IdlePolicy groups;  // the most lenient of the groups' values, where any sets one
  bool group_window = false, group_grace = false, group_keeps = false, group_exempt = false;
  const IdlePolicyRule* own = nullptr;
  for (const auto& rule : rules) {
    if (rule.scope == QuotaScope::user) {
      own = &rule;
      continue;
    }
    if (rule.window_minutes) {
      // A window of 0 means never reclaimed: the most lenient of all.
      UnixMillis window = *rule.window_minutes * kMinute;
      groups.window = !group_window                       ? window
                      : window == 0 || groups.window == 0 ? 0
                                                          : std::max(groups.window, window);
      group_window = true;
    }
    if (rule.grace_minutes) {
      groups.grace = std::max(group_grace ? groups.grace : 0, *rule.grace_minutes * kMinute);
      group_grace = true;
    }
    if (rule.keeps) {
      groups.keeps = std::max(group_keeps ? groups.keeps : 0, *rule.keeps);
      group_keeps = true;
    }
    if (rule.exempt) {
      groups.exempt = groups.exempt || *rule.exempt;
      group_exempt = true;
    }
  }
  IdlePolicy policy = defaults;
  if (group_window) policy.window = groups.window;
  if (group_grace) policy.grace = groups.grace;
  if (group_keeps) policy.keeps = groups.keeps;
  if (group_exempt) policy.exempt = groups.exempt;
  if (own != nullptr) {
    if (own->window_minutes) policy.window = *own->window_minutes * kMinute;
    if (own->grace_minutes) policy.grace = *own->grace_minutes * kMinute;
    if (own->keeps) policy.keeps = *own->keeps;
    if (own->exempt) policy.exempt = *own->exempt;
  }
  return policy;
}

}  // namespace gpupool::services
