#include "services/session_lifecycle.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "auth/ssh_key.hpp"

namespace gpupool::services {

namespace {

void end(Session& session, EndReason reason, std::string why, UnixMillis now) {
  session.state = SessionState::ended;
  session.queue_reason.reset();  // a request stopped while queued waits for nothing
  session.end_reason = reason;
  session.reason = std::move(why);
  session.ended_at = now;
}

void begin_stopping(Session& session, EndReason reason, std::string why) {
  session.state = SessionState::stopping;
  session.end_reason = reason;
  session.reason = std::move(why);
}

// Beyond this, an engine's stop time later than the node's last report is not taken on trust:
// a host that lost power has its containers' stop stamped when its engine comes back.
constexpr UnixMillis kTrustedStopAfterReport = 60'000;

// When a running session's container stopped, as far as the server can vouch for it: the
// engine's record, or the node's last report before it (nothing is known after that).
UnixMillis stop_time(const Session& session, const SyncFacts& facts) {
  UnixMillis at = facts.observed != nullptr ? facts.observed->stopped_at : 0;
  bool vouched =
      at != 0 && (facts.last_report == 0 || at <= facts.last_report + kTrustedStopAfterReport);
  if (!vouched) at = facts.last_report != 0 ? facts.last_report : facts.now;
  return std::clamp(at, std::min(session.started_at, facts.now), facts.now);
}

// "2026-12-03 05:30:01 UTC"
std::string utc_time(UnixMillis time) {
  std::string text = format_rfc3339(time).substr(0, 19);
  text[10] = ' ';
  return text + " UTC";
}

// The container came back after being down: the down time is set aside from the bill.
void note_back_up(Session& session, UnixMillis now) {
  session.down_millis += std::max<UnixMillis>(0, now - session.down_since);
  session.down_since = 0;
  session.restarts += 1;
  session.restarted_at = now;
  session.reason = fmt::format(
      "its container restarted at {}: running processes and /tmp were lost, the home was kept",
      utc_time(now));
}

// The agent's report of the container's state, applied to the session's.
void apply_observation(Session& session, const SyncFacts& facts) {
  SessionState state = session.state;
  const ObservedSession* observed = facts.observed;
  UnixMillis now = facts.now;
  // A running session that stops is billed to when its container stopped (to when it went
  // down, if it was already down), not to when the server heard of it.
  auto stopped = [&] {
    if (state != SessionState::running) return now;
    return session.down_since != 0 ? session.down_since : stop_time(session, facts);
  };
  if (observed == nullptr) {
    if (state == SessionState::stopping) {
      end(session, session.end_reason, session.reason, now);
    } else if (state == SessionState::starting || state == SessionState::running) {
      end(session, EndReason::failed, "the container disappeared from the node", stopped());
    }
    // scheduled: the agent has not created it yet.
    return;
  }
  switch (observed->phase) {
    case ObservedPhase::failed:
      if (state != SessionState::stopping)
        end(session, EndReason::failed, observed->message, stopped());
      return;
    case ObservedPhase::starting:
      if (state == SessionState::scheduled) session.state = SessionState::starting;
      // What it is waiting for, e.g. "pulling image: 1.2 of 3.4 GB, 3 of 7 layers".
      if (state == SessionState::scheduled || state == SessionState::starting)
        session.reason = observed->message;
      return;
    case ObservedPhase::restarting:
      if (state == SessionState::scheduled) session.state = SessionState::starting;
      if (state == SessionState::running && session.down_since == 0) {
        session.down_since = stop_time(session, facts);
        session.reason = observed->message.empty()
                             ? "its container stopped and is being started again"
                             : fmt::format("its container stopped ({}) and is being started again",
                                           observed->message);
      }
      return;
    case ObservedPhase::running:
      if (state == SessionState::scheduled || state == SessionState::starting) {
        session.state = SessionState::running;
        session.started_at = now;
        session.reason.clear();  // what it waited for is over
      } else if (state == SessionState::running && session.down_since != 0) {
        note_back_up(session, now);
      }
      return;
    case ObservedPhase::stopping:  // its container is being removed: it ends once gone
      return;
  }
}

// Keeps the host key the agent read from the container, if it is a well-formed public key;
// false when it was malformed.
bool record_host_key(Session& session, const std::string& reported) {
  if (reported.empty()) return true;
  auto key = auth::normalize_ssh_public_key(reported);
  if (!key) return false;
  // Drop the comment: it names the container user and host, which says nothing useful.
  session.ssh_host_key = key->substr(0, key->find(' ', key->find(' ') + 1));
  return true;
}

bool stoppable(SessionState state) {
  return holds_resources(state) && state != SessionState::stopping;
}

Transition finish(const Session& before, Session after, UnixMillis now) {
  Transition transition;
  transition.changed =
      after.state != before.state || after.ssh_host_key != before.ssh_host_key ||
      after.reason != before.reason || after.preempt_at != before.preempt_at ||
      after.queue_reason != before.queue_reason || after.down_since != before.down_since ||
      after.restarts != before.restarts || after.idle_warned_at != before.idle_warned_at ||
      after.idle_kept_at != before.idle_kept_at || after.idle_exempt != before.idle_exempt ||
      after.limit_warned != before.limit_warned;
  transition.ended = after.state == SessionState::ended && before.state != SessionState::ended;
  transition.idle_warned = after.idle_warned_at != 0 && before.idle_warned_at == 0;
  transition.limit_warned = after.limit_warned && !before.limit_warned;
  if (transition.changed) after.updated_at = now;
  transition.session = std::move(after);
  return transition;
}

// "2 h 5 min", "45 min", "30 s"
std::string duration_words(UnixMillis millis) {
  auto seconds = millis / 1000;
  if (seconds < 60) return fmt::format("{} s", seconds);
  auto minutes = seconds / 60;
  if (minutes < 60) return fmt::format("{} min", minutes);
  return minutes % 60 == 0 ? fmt::format("{} h", minutes / 60)
                           : fmt::format("{} h {} min", minutes / 60, minutes % 60);
}

}  // namespace

UnixMillis idle_since(const Session& session, UnixMillis last_use) {
  return std::max({last_use, session.started_at, session.restarted_at, session.idle_kept_at});
}

Transition after_idle_check(const Session& session, const IdlePolicy& policy, UnixMillis last_use,
                            UnixMillis now) {
  Session next = session;
  if (session.state != SessionState::running || session.down_since != 0)
    return finish(session, std::move(next), now);
  UnixMillis since = idle_since(session, last_use);
  bool never = policy.window <= 0 || policy.exempt || session.idle_exempt;
  if (next.idle_warned_at != 0 && (never || since > next.idle_warned_at)) next.idle_warned_at = 0;
  if (never) return finish(session, std::move(next), now);
  if (next.idle_warned_at == 0 && now - since >= policy.window) next.idle_warned_at = now;
  if (next.idle_warned_at != 0 && now - next.idle_warned_at >= policy.grace) {
    begin_stopping(
        next, EndReason::idle_reclaimed,
        fmt::format("reclaimed: unused since {} (no GPU, CPU, notebook or SSH activity "
                    "for {}); its owner was warned at {}",
                    utc_time(since), duration_words(now - since), utc_time(next.idle_warned_at)));
  }
  return finish(session, std::move(next), now);
}

Result<Transition> after_keep(const Session& session, const IdlePolicy& policy, UnixMillis now) {
  if (session.state != SessionState::running)
    return make_error(ErrorCode::conflict, "only a running session can be kept");
  if (session.idle_keeps >= policy.keeps) {
    return make_error(ErrorCode::conflict,
                      fmt::format("this session was kept {} time(s) already, the most its idle "
                                  "policy allows; use it, or ask an admin to exempt it",
                                  session.idle_keeps));
  }
  Session next = session;
  next.idle_keeps += 1;
  next.idle_kept_at = now;
  next.idle_warned_at = 0;
  return finish(session, std::move(next), now);
}

bool past_time_limit(const Session& session, UnixMillis now) {
  if (!session.request.max_hours || session.started_at == 0) return false;
  return now - session.started_at >
         static_cast<UnixMillis>(*session.request.max_hours * 3600 * 1000);
}

Transition after_sync(const Session& session, const SyncFacts& facts) {
  const ObservedSession* observed = facts.observed;
  UnixMillis now = facts.now;
  if (!holds_resources(session.state)) return {session};
  Session next = session;
  apply_observation(next, facts);
  bool host_key_ok = true;
  if (observed != nullptr && observed->phase == ObservedPhase::running) {
    host_key_ok = record_host_key(next, observed->ssh_host_key);
  }
  if (next.preempt_at != 0 && now >= next.preempt_at && stoppable(next.state)) {
    begin_stopping(next, EndReason::preempted,
                   "preempted to make room for a non-preemptible session");
  }
  if (next.state == SessionState::running && !next.limit_warned &&
      past_time_limit(next, now + kTimeLimitWarningMillis))
    next.limit_warned = true;
  if (next.state == SessionState::running && past_time_limit(next, now)) {
    begin_stopping(next, EndReason::time_limit,
                   fmt::format("reached its time limit of {} h", *next.request.max_hours));
  }
  Transition transition = finish(session, std::move(next), now);
  transition.ignored_host_key = !host_key_ok;
  return transition;
}

Transition after_stop(const Session& session, EndReason reason, UnixMillis now) {
  std::string why =
      reason == EndReason::user_stopped ? "stopped by the user" : "stopped by an admin";
  Session next = session;
  if (session.state == SessionState::queued) {
    end(next, reason, why, now);
  } else if (stoppable(session.state)) {
    begin_stopping(next, reason, why);  // resources stay held until the container is gone
  }
  return finish(session, std::move(next), now);
}

Transition after_node_lost(const Session& session, const std::string& node, UnixMillis silent_since,
                           UnixMillis now) {
  Session next = session;
  if (!holds_resources(session.state)) return finish(session, std::move(next), now);
  // Nothing is known after the node's last word: the session is taken to have ended then.
  UnixMillis end_at = std::max(silent_since, session.started_at);
  if (session.state == SessionState::stopping) {
    end(next, session.end_reason, session.reason, end_at);
  } else {
    end(next, EndReason::node_lost,
        fmt::format("node {} stopped reporting; the session ended when it went silent", node),
        end_at);
  }
  return finish(session, std::move(next), now);
}

Transition after_balance_exhausted(const Session& session, UnixMillis now) {
  Session next = session;
  if (session.state == SessionState::running && session.rate_micros_per_hour != 0) {
    begin_stopping(next, EndReason::balance_exhausted,
                   "the prepaid balance ran out; top it up to start again");
  }
  return finish(session, std::move(next), now);
}

Transition after_share_overrun(const Session& session, int gpu_index, std::int64_t used_mb,
                               UnixMillis over_since, UnixMillis now) {
  Session next = session;
  if (session.state == SessionState::running && session.request.gpu_memory_mb > 0) {
    begin_stopping(next, EndReason::gpu_share_exceeded,
                   fmt::format("stopped: its processes used {:.1f} GB of GPU {}'s memory, over its "
                               "share of {:.1f} GB, since {} — something in it got around the "
                               "share's GPU-memory cap",
                               static_cast<double>(used_mb) / 1024.0, gpu_index,
                               static_cast<double>(session.request.gpu_memory_mb) / 1024.0,
                               utc_time(over_since)));
  }
  return finish(session, std::move(next), now);
}

Transition after_placement(const Session& session, UnixMillis now) {
  Session next = session;
  if (session.state == SessionState::queued) {
    next.state = SessionState::scheduled;
    next.reason = "";
    next.queue_reason.reset();
  }
  return finish(session, std::move(next), now);
}

Transition after_queue_update(const Session& session, const QueueReason& reason, UnixMillis now) {
  Session next = session;
  if (session.state == SessionState::queued) {
    next.reason = english(reason);
    next.queue_reason = reason;
  }
  return finish(session, std::move(next), now);
}

Transition after_preemption_choice(const Session& session, bool chosen, UnixMillis grace,
                                   UnixMillis now) {
  Session next = session;
  bool marked = session.preempt_at != 0;
  if (chosen != marked && session.state != SessionState::stopping) {
    next.preempt_at = chosen ? now + grace : 0;
  }
  return finish(session, std::move(next), now);
}

}  // namespace gpupool::services
