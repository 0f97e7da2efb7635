#include "agent/activity_monitor.hpp"

#include <algorithm>
#include <set>

namespace gpupool::agent {

void ActivityMonitor::watch(std::vector<WatchedSession> sessions) {
  std::lock_guard lock(mutex_);
  std::set<std::string> ids;
  for (const auto& session : sessions) ids.insert(session.session_id);
  std::erase_if(measured_, [&](const auto& entry) { return !ids.contains(entry.first); });
  watched_ = std::move(sessions);
}

void ActivityMonitor::measure_once() {
  std::vector<WatchedSession> watched;
  {
    std::lock_guard lock(mutex_);
    watched = watched_;
  }
  for (const auto& session : watched) {
    ActivitySample sample = sensor_.sample(session);
    std::int64_t now = clock_.monotonic_millis();
    std::lock_guard lock(mutex_);
    bool still_watched = std::any_of(watched_.begin(), watched_.end(), [&](const auto& item) {
      return item.session_id == session.session_id && item.container_id == session.container_id;
    });
    if (!still_watched) continue;
    Measured next{sample, now, std::nullopt};
    auto previous = measured_.find(session.session_id);
    if (previous != measured_.end() && sample.cpu_nanos && previous->second.sample.cpu_nanos &&
        now > previous->second.at_monotonic) {
      double used = static_cast<double>(*sample.cpu_nanos - *previous->second.sample.cpu_nanos);
      // A restarted container counts from zero again: no rate across that.
      if (used >= 0)
        next.cpu_cores = used / 1e6 / static_cast<double>(now - previous->second.at_monotonic);
    }
    measured_[session.session_id] = next;
  }
}

std::optional<SessionActivity> ActivityMonitor::latest(const std::string& session_id) const {
  std::lock_guard lock(mutex_);
  auto found = measured_.find(session_id);
  if (found == measured_.end() || !found->second.cpu_cores) return std::nullopt;
  const Measured& measured = found->second;
  SessionActivity activity;
  activity.cpu_cores = measured.cpu_cores;
  activity.ssh_connections = measured.sample.ssh_connections;
  if (const auto& jupyter = measured.sample.jupyter) {
    activity.kernels = jupyter->kernels;
    activity.busy_kernels = jupyter->busy_kernels;
    activity.terminals = jupyter->terminals;
    if (jupyter->last_activity != 0)
      activity.jupyter_quiet_millis =
          std::max<std::int64_t>(0, clock_.now() - jupyter->last_activity);
  }
  return activity;
}

}  // namespace gpupool::agent
