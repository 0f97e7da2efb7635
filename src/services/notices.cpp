#include "services/notices.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/price.hpp"

namespace gpupool::services {

namespace {

constexpr UnixMillis kWorthTellingWait = 60'000;

// What a node reported (a container's message, in a reason) may hold any bytes: invalid UTF-8
// is replaced, never thrown about.
std::string dump_data(const nlohmann::json& data) {
  return data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Notification notice(const Session& session, NotificationKind kind, UnixMillis now,
                    std::string message, nlohmann::json data) {
  data["session"] = session.id;
  data["state"] = to_string(session.state);
  return {0, session.user_id, now, kind, session.id, std::move(message), dump_data(data), false};
}

}  // namespace

Notification idle_warning_notice(const Session& session, UnixMillis reclaim_at, UnixMillis now) {
  return notice(session, NotificationKind::idle_warning, now,
                fmt::format("Session {} has not been used lately and will be reclaimed at {} (its "
                            "home is kept) unless you use it or keep it: gpupool keep {}",
                            session.id, format_rfc3339(reclaim_at), session.id),
                {{"reclaim_at", format_rfc3339(reclaim_at)}});
}

Notification preemption_notice(const Session& session, UnixMillis now) {
  return notice(session, NotificationKind::preemption_warning, now,
                fmt::format("Session {} is preemptible and will be stopped at {} to make room for "
                            "another; save your work",
                            session.id, format_rfc3339(session.preempt_at)),
                {{"stop_at", format_rfc3339(session.preempt_at)}});
}

Notification time_limit_notice(const Session& session, UnixMillis now) {
  UnixMillis ends_at = session.started_at +
                       static_cast<UnixMillis>(session.request.max_hours.value_or(0) * 3600'000);
  return notice(session, NotificationKind::time_limit_near, now,
                fmt::format("Session {} reaches its time limit at {} and will be stopped then; "
                            "save your work",
                            session.id, format_rfc3339(ends_at)),
                {{"ends_at", format_rfc3339(ends_at)}});
}

Notification started_notice(const Session& session, UnixMillis now) {
  return notice(session, NotificationKind::session_started, now,
                fmt::format("Session {} is running, {} min after it was requested", session.id,
                            (session.started_at - session.created_at) / 60'000),
                {{"requested_at", format_rfc3339(session.created_at)},
                 {"started_at", format_rfc3339(session.started_at)}});
}

Notification ended_notice(const Session& session, UnixMillis now) {
  return notice(session, NotificationKind::session_ended, now,
                fmt::format("Session {} ended: {}", session.id, session.reason),
                {{"end_reason", to_string(session.end_reason)},
                 {"reason", session.reason},
                 {"ended_at", format_rfc3339(session.ended_at)}});
}

bool worth_telling_started(const Session& session) {
  return session.started_at - session.created_at >= kWorthTellingWait;
}

bool worth_telling_ended(const Session& session) {
  return session.end_reason != EndReason::user_stopped;
}

Notification balance_low_notice(std::int64_t user_id, const BalanceOutlook& outlook,
                                UnixMillis now) {
  constexpr auto kMicros = static_cast<double>(kMicrosPerCredit);
  std::string message =
      fmt::format("Your balance is down to {:.2f} credits, below your threshold of {:.2f}",
                  static_cast<double>(outlook.available_micros) / kMicros,
                  static_cast<double>(outlook.threshold_micros) / kMicros);
  nlohmann::json data{
      {"available_credits", static_cast<double>(outlook.available_micros) / kMicros},
      {"threshold_credits", static_cast<double>(outlook.threshold_micros) / kMicros},
      {"credits_per_hour", static_cast<double>(outlook.rate_micros_per_hour) / kMicros}};
  if (outlook.rate_micros_per_hour > 0 && outlook.available_micros > 0) {
    double hours = static_cast<double>(outlook.available_micros) /
                   static_cast<double>(outlook.rate_micros_per_hour);
    message += fmt::format("; at {:.2f} credits an hour it lasts about {:.1f} h more",
                           static_cast<double>(outlook.rate_micros_per_hour) / kMicros, hours);
    data["hours_left"] = hours;
  }
  message += ". Top up to keep your sessions running.";
  return {
      0,    user_id, now, NotificationKind::balance_low, "", std::move(message), dump_data(data),
      false};
}

}  // namespace gpupool::services
