// What owners are told of their sessions and balances (model/notification.hpp), as pure functions
// of the session: the words (English) and the figures behind them. SessionService stores each in
// the transaction of the change it tells of, so a notice is written exactly when its change is.
#pragma once

#include "core/clock.hpp"
#include "model/notification.hpp"
#include "model/session.hpp"

namespace gpupool::services {

// Unused for its idle window: reclaimed at `reclaim_at` unless used or kept.
Notification idle_warning_notice(const Session& session, UnixMillis reclaim_at, UnixMillis now);
// Chosen to make room for another request: stopped at its preempt_at.
Notification preemption_notice(const Session& session, UnixMillis now);
// Its time limit is near: it stops at started_at + max_hours.
Notification time_limit_notice(const Session& session, UnixMillis now);
// Running, after waiting since its request (told when that took a minute or more).
Notification started_notice(const Session& session, UnixMillis now);
// It ended, with its end reason.
Notification ended_notice(const Session& session, UnixMillis now);

// A user's balance below their threshold, and what their running sessions cost an hour.
struct BalanceOutlook {
  std::int64_t available_micros = 0;
  std::int64_t threshold_micros = 0;
  std::int64_t rate_micros_per_hour = 0;
};
Notification balance_low_notice(std::int64_t user_id, const BalanceOutlook& outlook,
                                UnixMillis now);

// Whether a session that has just started waited long enough for its owner to be told.
bool worth_telling_started(const Session& session);
// Whether its owner is told it ended: not when they stopped it themselves.
bool worth_telling_ended(const Session& session);

}  // namespace gpupool::services
