// SessionService's idle reclaim: each sync's measurements of its node's running sessions
// recorded (idle_watch.hpp), the policy of each owner resolved, and the rules applied
// (session_lifecycle.hpp: warn, reclaim); the owner's "keep it" and an admin's exemption; and
// the GPU use each sync reports counted for efficiency reports (gpu_use_meter.hpp).
#include "core/log.hpp"
#include "services/notices.hpp"
#include "services/session_service.hpp"

namespace gpupool::services {

Result<IdlePolicy> SessionService::idle_policy_locked(std::int64_t user_id) {
  auto rules = store_.idle_policies_for(user_id);
  if (!rules) return rules.error();
  return resolve_idle_policy(*rules, settings_.idle_defaults);
}

Status SessionService::meter_gpu_use_locked(
    const std::vector<Session>& sessions,
    const std::map<std::string, const ObservedSession*>& observed, UnixMillis now) {
  std::map<std::string, double> due;
  for (const auto& session : sessions) {
    bool running = session.state == SessionState::running;
    auto found = observed.find(session.id);
    if (running && found != observed.end() && session.billed_gpus > 0) {
      const auto& activity = found->second->activity;
      gpu_use_.sample(session.id, session.billed_gpus,
                      activity ? activity->gpu_utilization_percent : std::nullopt, now);
    }
    double seconds = gpu_use_.take(session.id, now, !running);
    if (seconds > 0) due[session.id] = seconds;
  }
  return due.empty() ? Status{} : store_.add_gpu_busy_seconds(due);
}

Status SessionService::check_idle_locked(
    std::vector<Session>& sessions, const std::map<std::string, const ObservedSession*>& observed,
    UnixMillis now) {
  std::map<std::int64_t, IdlePolicy> policies;  // by user, read once per sync
  for (auto& session : sessions) {
    if (session.state != SessionState::running) {
      idle_.forget(session.id);
      continue;
    }
    auto found = observed.find(session.id);
    if (found == observed.end()) continue;
    const auto& activity = found->second->activity;
    std::optional<UnixMillis> last_use;
    if (activity) last_use = last_use_in(*activity, settings_.idle_thresholds, now);
    idle_.record(session.id, activity, last_use, now);
    if (!policies.contains(session.user_id)) {
      auto policy = idle_policy_locked(session.user_id);
      if (!policy) return policy.error();
      policies[session.user_id] = *policy;
    }
    const IdlePolicy& policy = policies[session.user_id];
    idle_.set_policy(session.id, policy);
    Transition next = after_idle_check(session, policy, idle_.last_use(session.id), now);
    if (!next.changed) continue;
    session = std::move(next.session);
    if (next.idle_warned) {
      GPUPOOL_TRY(
          tell_locked(idle_warning_notice(session, session.idle_warned_at + policy.grace, now)));
      spdlog::info(
          "session {} of {}: unused for its idle window; reclaimed in {} s unless used "
          "or kept",
          session.id, session.username, policy.grace / 1000);
    }
    if (session.state == SessionState::stopping)
      spdlog::info("session {}: running → stopping ({})", session.id, session.reason);
    GPUPOOL_TRY(store_.update_session(session));
  }
  return {};
}

Result<Session> SessionService::keep_session(const User& user, const std::string& id) {
  auto session = get_session(user, id);
  if (!session) return session.error();
  std::lock_guard lock(mutex_);
  Result<Session> kept = make_error(ErrorCode::internal, "not kept");
  auto applied = store_.in_transaction([&]() -> Status {
    auto current = store_.get_session(id);
    if (!current) return current.error();
    if (!*current) return make_error(ErrorCode::not_found, "no such session");
    auto policy = idle_policy_locked((*current)->user_id);
    if (!policy) return policy.error();
    auto next = after_keep(**current, *policy, clock_.now());
    if (!next) return next.error();
    GPUPOOL_TRY(store_.update_session(next->session));
    kept = next->session;
    return {};
  });
  if (!applied) return applied.error();
  return kept;
}

Result<Session> SessionService::set_idle_exempt(const std::string& id, bool exempt) {
  std::lock_guard lock(mutex_);
  Result<Session> updated = make_error(ErrorCode::internal, "not updated");
  auto applied = store_.in_transaction([&]() -> Status {
    auto current = store_.get_session(id);
    if (!current) return current.error();
    if (!*current) return make_error(ErrorCode::not_found, "no such session");
    Session session = **current;
    if (session.idle_exempt != exempt) {
      session.idle_exempt = exempt;
      if (exempt) session.idle_warned_at = 0;
      session.updated_at = clock_.now();
      GPUPOOL_TRY(store_.update_session(session));
    }
    updated = session;
    return {};
  });
  if (!applied) return applied.error();
  return updated;
}

}  // namespace gpupool::services
