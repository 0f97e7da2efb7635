// SessionService: what the balances of running sessions' owners call for, at each sync —
// stopping the sessions of an owner whose prepaid balance ran out, telling an owner whose
// balance fell below their threshold.
#include <map>

#include "core/log.hpp"
#include "services/notices.hpp"
#include "services/session_service.hpp"

namespace gpupool::services {

Status SessionService::check_balances_locked(std::vector<Session>& sessions, UnixMillis now) {
  std::map<std::int64_t, std::int64_t> available;  // by user, read once per sync
  for (auto& session : sessions) {
    if (session.state != SessionState::running || session.rate_micros_per_hour == 0) continue;
    if (!available.contains(session.user_id)) {
      auto balance = accounts_.balance(session.user_id, now);
      if (!balance) return balance.error();
      available[session.user_id] = balance->available_micros();
      GPUPOOL_TRY(warn_low_balance_locked(session.user_id, balance->available_micros(), now));
    }
    if (!accounts_.prepaid() || available[session.user_id] > 0) continue;
    session = after_balance_exhausted(session, now).session;
    spdlog::info("session {}: running → stopping ({})", session.id, session.reason);
    GPUPOOL_TRY(store_.update_session(session));
  }
  return {};
}

Status SessionService::warn_low_balance_locked(std::int64_t user_id, std::int64_t available_micros,
                                               UnixMillis now) {
  auto settings = store_.notify_settings(user_id);
  if (!settings) return settings.error();
  std::int64_t threshold = settings->balance_low_micros.value_or(settings_.balance_low_micros);
  bool low = threshold > 0 && available_micros < threshold;
  if (low == settings->balance_low_told) return {};  // told already, or nothing to tell
  settings->balance_low_told = low;
  GPUPOOL_TRY(store_.set_notify_settings(*settings));
  if (!low) return {};
  auto running = store_.list_sessions({user_id, std::nullopt, true, {}});
  if (!running) return running.error();
  BalanceOutlook outlook{available_micros, threshold, 0};
  for (const auto& session : *running)
    if (session.state == SessionState::running)
      outlook.rate_micros_per_hour += session.rate_micros_per_hour;
  spdlog::info("user {}: balance {} µcredits below the threshold {}", user_id, available_micros,
               threshold);
  return tell_locked(balance_low_notice(user_id, outlook, now));
}

}  // namespace gpupool::services
