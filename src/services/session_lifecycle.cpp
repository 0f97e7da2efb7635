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

// The agent's report of the container's state, applied to the session's.
void apply_observation(Session& session, const ObservedSession* observed, UnixMillis now) {
  SessionState state = session.state;
  if (observed == nullptr) {
    if (state == SessionState::stopping) {
      end(session, session.end_reason, session.reason, now);
    } else if (state == SessionState::starting || state == SessionState::running) {
      end(session, EndReason::failed, "the container disappeared from the node", now);
    }
    // scheduled: the agent has not created it yet.
    return;
  }
  switch (observed->phase) {
    case ObservedPhase::failed:
      if (state != SessionState::stopping) end(session, EndReason::failed, observed->message, now);
      return;
    case ObservedPhase::starting:
      if (state == SessionState::scheduled) session.state = SessionState::starting;
      return;
    case ObservedPhase::running:
      if (state == SessionState::scheduled || state == SessionState::starting) {
        session.state = SessionState::running;
        session.started_at = now;
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
  transition.changed = after.state != before.state || after.ssh_host_key != before.ssh_host_key ||
                       after.reason != before.reason || after.preempt_at != before.preempt_at ||
                       after.queue_reason != before.queue_reason;
  transition.ended = after.state == SessionState::ended && before.state != SessionState::ended;
  if (transition.changed) after.updated_at = now;
  transition.session = std::move(after);
  return transition;
}

}  // namespace

bool past_time_limit(const Session& session, UnixMillis now) {
  if (!session.request.max_hours || session.started_at == 0) return false;
  return now - session.started_at >
         static_cast<UnixMillis>(*session.request.max_hours * 3600 * 1000);
}

Transition after_sync(const Session& session, const ObservedSession* observed, UnixMillis now) {
  if (!holds_resources(session.state)) return {session};
  Session next = session;
  apply_observation(next, observed, now);
  bool host_key_ok = true;
  if (observed != nullptr && observed->phase == ObservedPhase::running) {
    host_key_ok = record_host_key(next, observed->ssh_host_key);
  }
  if (next.preempt_at != 0 && now >= next.preempt_at && stoppable(next.state)) {
    begin_stopping(next, EndReason::preempted,
                   "preempted to make room for a non-preemptible session");
  }
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
