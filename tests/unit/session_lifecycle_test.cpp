// The session state machine, edge by edge: each row is a session, what happened and what
// must be stored next.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "services/session_lifecycle.hpp"

namespace gpupool::services {
namespace {

constexpr UnixMillis kNow = 1'000'000'000;
constexpr UnixMillis kHour = 3600 * 1000;
constexpr const char* kHostKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHCfYdbpEfNo85EvyD2Uq3+hSzhdPwnGB1mw03IQsEYs";

Session session_in(SessionState state) {
  Session session;
  session.id = "s1";
  session.state = state;
  session.created_at = kNow - 2 * kHour;
  session.updated_at = kNow - kHour;
  if (state != SessionState::queued) session.node = "node-1";
  if (state == SessionState::running || state == SessionState::stopping)
    session.started_at = kNow - kHour;
  if (state == SessionState::stopping) {
    session.end_reason = EndReason::user_stopped;
    session.reason = "stopped by the user";
  }
  return session;
}

std::optional<ObservedSession> seen(ObservedPhase phase, std::string message = "") {
  return ObservedSession{"s1", phase, std::move(message), ""};
}

const ObservedSession kRunning{"s1", ObservedPhase::running, "", ""};

struct SyncCase {
  const char* name;
  SessionState before;
  std::optional<ObservedSession> observed;  // nullopt: the agent's report does not list it
  SessionState after;
  EndReason end_reason;
  bool ended;
};

TEST(SessionLifecycle, AfterSyncFollowsWhatTheAgentReports) {
  using enum SessionState;
  const std::vector<SyncCase> cases{
      {"scheduled, not created yet", scheduled, std::nullopt, scheduled, EndReason::none, false},
      {"scheduled, being created", scheduled, seen(ObservedPhase::starting), starting,
       EndReason::none, false},
      {"scheduled, already answering", scheduled, seen(ObservedPhase::running), running,
       EndReason::none, false},
      {"starting, still starting", starting, seen(ObservedPhase::starting), starting,
       EndReason::none, false},
      {"starting, now answering", starting, seen(ObservedPhase::running), running, EndReason::none,
       false},
      {"starting, container gone", starting, std::nullopt, ended, EndReason::failed, true},
      {"running, still running", running, seen(ObservedPhase::running), running, EndReason::none,
       false},
      {"running, container gone", running, std::nullopt, ended, EndReason::failed, true},
      {"running, being removed", running, seen(ObservedPhase::stopping), running, EndReason::none,
       false},
      {"scheduled, failed to start", scheduled, seen(ObservedPhase::failed, "no image"), ended,
       EndReason::failed, true},
      {"starting, failed", starting, seen(ObservedPhase::failed, "exit 1"), ended,
       EndReason::failed, true},
      {"running, exited", running, seen(ObservedPhase::failed, "exit 1"), ended, EndReason::failed,
       true},
      {"stopping, still there", stopping, seen(ObservedPhase::running), stopping,
       EndReason::user_stopped, false},
      {"stopping, exited while stopping", stopping, seen(ObservedPhase::failed, "killed"), stopping,
       EndReason::user_stopped, false},
      {"stopping, container gone", stopping, std::nullopt, ended, EndReason::user_stopped, true},
      {"queued: no agent touches it", queued, std::nullopt, queued, EndReason::none, false},
      {"ended: stays ended", ended, seen(ObservedPhase::running), ended, EndReason::none, false},
  };
  for (const auto& c : cases) {
    Session before = session_in(c.before);
    auto next = after_sync(before, {c.observed ? &*c.observed : nullptr, kNow, 0});
    EXPECT_EQ(next.session.state, c.after) << c.name;
    EXPECT_EQ(next.session.end_reason, c.end_reason) << c.name;
    EXPECT_EQ(next.ended, c.ended) << c.name;
    EXPECT_EQ(next.changed, c.before != c.after) << c.name;
    EXPECT_EQ(next.session.updated_at, next.changed ? kNow : before.updated_at) << c.name;
    EXPECT_EQ(next.session.ended_at, c.ended ? kNow : 0) << c.name;
  }
}

TEST(SessionLifecycle, RunningStartsTheClockOnceAndFailuresSayWhy) {
  auto started = after_sync(session_in(SessionState::starting), {&kRunning, kNow, 0});
  EXPECT_EQ(started.session.started_at, kNow);
  auto again = after_sync(started.session, {&kRunning, kNow + kHour, 0});
  EXPECT_EQ(again.session.started_at, kNow) << "not restarted by a later report";
  EXPECT_FALSE(again.changed);

  ObservedSession exited{"s1", ObservedPhase::failed, "image not found", ""};
  auto failed = after_sync(session_in(SessionState::starting), {&exited, kNow, 0});
  EXPECT_EQ(failed.session.reason, "image not found");
  auto gone = after_sync(session_in(SessionState::running), {nullptr, kNow, 0});
  EXPECT_EQ(gone.session.reason, "the container disappeared from the node");
  auto stopped = after_sync(session_in(SessionState::stopping), {nullptr, kNow, 0});
  EXPECT_EQ(stopped.session.reason, "stopped by the user") << "keeps why it was stopping";
}

TEST(SessionLifecycle, AStartingSessionSaysWhatItWaitsForUntilItRuns) {
  ObservedSession pulling{"s1", ObservedPhase::starting, "pulling image: 1.2 of 3.4 GB", ""};
  auto waiting = after_sync(session_in(SessionState::scheduled), {&pulling, kNow, 0});
  EXPECT_EQ(waiting.session.state, SessionState::starting);
  EXPECT_EQ(waiting.session.reason, "pulling image: 1.2 of 3.4 GB");
  EXPECT_TRUE(waiting.changed) << "the live view shows how far it got";
  EXPECT_EQ(waiting.session.started_at, 0) << "nothing is billed while it pulls";
  auto running = after_sync(waiting.session, {&kRunning, kNow + 1000, 0});
  EXPECT_EQ(running.session.reason, "");
  EXPECT_EQ(running.session.started_at, kNow + 1000);

  ObservedSession refused{"s1", ObservedPhase::failed, "pulling x: manifest unknown", ""};
  auto failed = after_sync(waiting.session, {&refused, kNow + 1000, 0});
  EXPECT_EQ(failed.session.end_reason, EndReason::failed);
  EXPECT_EQ(failed.session.reason, "pulling x: manifest unknown");
  EXPECT_EQ(failed.session.started_at, 0) << "it never ran: nothing to bill";
}

ObservedSession stopped_container(ObservedPhase phase, UnixMillis stopped_at) {
  ObservedSession observed{"s1", phase, "exit code 143", ""};
  observed.stopped_at = stopped_at;
  return observed;
}

TEST(SessionLifecycle, AContainerBeingRestartedIsDownUnbilledUntilItAnswersAgain) {
  Session running = session_in(SessionState::running);
  auto restarting = stopped_container(ObservedPhase::restarting, kNow - 5000);
  auto down = after_sync(running, {&restarting, kNow, kNow - 1000});
  EXPECT_EQ(down.session.state, SessionState::running);
  EXPECT_EQ(down.session.down_since, kNow - 5000) << "the engine's stop time";
  EXPECT_EQ(down.session.reason,
            "its container stopped (exit code 143) and is being started again");
  EXPECT_TRUE(down.changed);
  EXPECT_FALSE(after_sync(down.session, {&restarting, kNow + 1000, kNow}).changed)
      << "down once, not at every report";

  auto back = after_sync(down.session, {&kRunning, kNow + 20'000, kNow + 19'000});
  EXPECT_EQ(back.session.down_since, 0);
  EXPECT_EQ(back.session.down_millis, 25'000);
  EXPECT_EQ(back.session.restarts, 1);
  EXPECT_EQ(back.session.restarted_at, kNow + 20'000);
  EXPECT_EQ(back.session.started_at, running.started_at) << "the session goes on";
  EXPECT_EQ(back.session.reason,
            "its container restarted at 1970-01-12 13:47:00 UTC: running processes and /tmp "
            "were lost, the home was kept");
}

TEST(SessionLifecycle, ARunningSessionEndsWhenItsContainerStoppedAsFarAsTheServerCanVouch) {
  Session running = session_in(SessionState::running);
  auto failed = stopped_container(ObservedPhase::failed, kNow - 3000);
  EXPECT_EQ(after_sync(running, {&failed, kNow, kNow - 1000}).session.ended_at, kNow - 3000)
      << "the engine's record, not when the server heard";

  // The engine stamped the stop long after the node's last report (a host that lost power):
  // nothing is known after that report.
  auto late = stopped_container(ObservedPhase::failed, kNow - 1000);
  EXPECT_EQ(after_sync(running, {&late, kNow, kNow - 10 * 60'000}).session.ended_at,
            kNow - 10 * 60'000);
  auto unknown = stopped_container(ObservedPhase::failed, 0);
  EXPECT_EQ(after_sync(running, {&unknown, kNow, kNow - 2000}).session.ended_at, kNow - 2000);
  EXPECT_EQ(after_sync(running, {nullptr, kNow, kNow - 2000}).session.ended_at, kNow - 2000)
      << "a container that vanished ran until the last report that listed it";
  auto before_start = stopped_container(ObservedPhase::failed, running.started_at - 5000);
  EXPECT_EQ(after_sync(running, {&before_start, kNow, kNow - 1000}).session.ended_at,
            running.started_at);

  // Down already: it ended when it went down.
  Session down = running;
  down.down_since = kNow - 60'000;
  EXPECT_EQ(after_sync(down, {&failed, kNow, kNow - 1000}).session.ended_at, kNow - 60'000);
  // A session that never ran is not billed, and ends when the server hears.
  EXPECT_EQ(
      after_sync(session_in(SessionState::starting), {&failed, kNow, kNow - 1000}).session.ended_at,
      kNow);
}

TEST(SessionLifecycle, APreemptionStopsTheSessionWhenItsTimeComes) {
  Session chosen = session_in(SessionState::running);
  chosen.preempt_at = kNow + 1000;
  auto early = after_sync(chosen, {&kRunning, kNow, 0});
  EXPECT_EQ(early.session.state, SessionState::running);
  auto due = after_sync(chosen, {&kRunning, kNow + 1000, 0});
  EXPECT_EQ(due.session.state, SessionState::stopping);
  EXPECT_EQ(due.session.end_reason, EndReason::preempted);
  EXPECT_FALSE(due.ended) << "it ends when its container is gone";

  Session scheduled = session_in(SessionState::scheduled);
  scheduled.preempt_at = kNow;
  EXPECT_EQ(after_sync(scheduled, {nullptr, kNow, 0}).session.state, SessionState::stopping);

  Session stopping = session_in(SessionState::stopping);
  stopping.preempt_at = kNow;
  auto kept = after_sync(stopping, {&kRunning, kNow, 0});
  EXPECT_EQ(kept.session.end_reason, EndReason::user_stopped) << "the first reason stands";
}

TEST(SessionLifecycle, ATimeLimitStopsARunningSessionOnlyOnceItHasPassed) {
  Session session = session_in(SessionState::running);
  session.request.max_hours = 1.0;
  session.started_at = kNow - kHour;
  EXPECT_EQ(after_sync(session, {&kRunning, kNow, 0}).session.state, SessionState::running)
      << "exactly at the limit";
  auto over = after_sync(session, {&kRunning, kNow + 1, 0});
  EXPECT_EQ(over.session.state, SessionState::stopping);
  EXPECT_EQ(over.session.end_reason, EndReason::time_limit);
  EXPECT_EQ(over.session.reason, "reached its time limit of 1 h");

  Session unlimited = session_in(SessionState::running);
  EXPECT_FALSE(past_time_limit(unlimited, kNow + 1000 * kHour));
  Session not_started = session_in(SessionState::scheduled);
  not_started.request.max_hours = 0.5;
  EXPECT_FALSE(past_time_limit(not_started, kNow + 1000 * kHour));
}

TEST(SessionLifecycle, TheHostKeyIsKeptWithoutItsCommentAndAMalformedOneIsIgnored) {
  ObservedSession running{"s1", ObservedPhase::running, "", std::string(kHostKey) + " user@box"};
  auto kept = after_sync(session_in(SessionState::running), {&running, kNow, 0});
  EXPECT_EQ(kept.session.ssh_host_key, kHostKey);
  EXPECT_TRUE(kept.changed);
  EXPECT_FALSE(kept.ignored_host_key);

  running.ssh_host_key = "ssh-ed25519 not-base64!";
  auto ignored = after_sync(session_in(SessionState::running), {&running, kNow, 0});
  EXPECT_EQ(ignored.session.ssh_host_key, "");
  EXPECT_TRUE(ignored.ignored_host_key);
  EXPECT_FALSE(ignored.changed);

  ObservedSession starting{"s1", ObservedPhase::starting, "", kHostKey};
  EXPECT_EQ(
      after_sync(session_in(SessionState::scheduled), {&starting, kNow, 0}).session.ssh_host_key,
      "")
      << "read only from a running container";
}

TEST(SessionLifecycle, StoppingEndsAQueuedSessionAndStopsOneThatHoldsResources) {
  struct Case {
    SessionState before;
    EndReason reason;
    SessionState after;
    bool ended;
  };
  using enum SessionState;
  const std::vector<Case> cases{
      {queued, EndReason::user_stopped, ended, true},
      {scheduled, EndReason::user_stopped, stopping, false},
      {starting, EndReason::admin_stopped, stopping, false},
      {running, EndReason::admin_stopped, stopping, false},
      {stopping, EndReason::admin_stopped, stopping, false},
      {ended, EndReason::user_stopped, ended, false},
  };
  for (const auto& c : cases) {
    Session before = session_in(c.before);
    auto next = after_stop(before, c.reason, kNow);
    EXPECT_EQ(next.session.state, c.after) << to_string(c.before);
    EXPECT_EQ(next.ended, c.ended) << to_string(c.before);
    bool moved = c.before != c.after;
    EXPECT_EQ(next.changed, moved) << to_string(c.before);
    if (moved) {
      EXPECT_EQ(next.session.end_reason, c.reason);
      EXPECT_EQ(next.session.reason, c.reason == EndReason::user_stopped ? "stopped by the user"
                                                                         : "stopped by an admin");
    }
  }
  EXPECT_EQ(after_stop(session_in(SessionState::stopping), EndReason::admin_stopped, kNow)
                .session.end_reason,
            EndReason::user_stopped)
      << "stopping twice keeps the first reason";
}

TEST(SessionLifecycle, AnEmptyBalanceStopsOnlyRunningPricedSessions) {
  Session priced = session_in(SessionState::running);
  priced.rate_micros_per_hour = 1'000'000;
  auto stopped = after_balance_exhausted(priced, kNow);
  EXPECT_EQ(stopped.session.state, SessionState::stopping);
  EXPECT_EQ(stopped.session.end_reason, EndReason::balance_exhausted);
  EXPECT_FALSE(after_balance_exhausted(session_in(SessionState::running), kNow).changed) << "free";
  Session starting = session_in(SessionState::starting);
  starting.rate_micros_per_hour = 1'000'000;
  EXPECT_FALSE(after_balance_exhausted(starting, kNow).changed) << "not yet paying";
}

TEST(SessionLifecycle, TheSchedulerPlacesQueuedSessionsAndRewordsOnlyWhatChanged) {
  Session queued = session_in(SessionState::queued);
  queued.reason = "waiting for the scheduler";
  auto placed = after_placement(queued, kNow);
  EXPECT_EQ(placed.session.state, SessionState::scheduled);
  EXPECT_EQ(placed.session.reason, "");
  EXPECT_TRUE(placed.changed);
  EXPECT_FALSE(after_placement(session_in(SessionState::running), kNow).changed);

  QueueReason waiting{.code = QueueReasonCode::waiting_for_gpus, .gpus = 2, .position = 1};
  auto reworded = after_queue_update(queued, waiting, kNow);
  EXPECT_TRUE(reworded.changed);
  EXPECT_EQ(reworded.session.updated_at, kNow);
  EXPECT_EQ(reworded.session.queue_reason, waiting);
  EXPECT_EQ(reworded.session.reason, "waiting for 2 free GPUs on one node; position 1");
  auto same = after_queue_update(reworded.session, waiting, kNow + 1);
  EXPECT_FALSE(same.changed);
  EXPECT_EQ(same.session.updated_at, kNow);
  waiting.position = 2;
  EXPECT_TRUE(after_queue_update(reworded.session, waiting, kNow + 1).changed);
  EXPECT_EQ(after_placement(reworded.session, kNow + 2).session.queue_reason, std::nullopt)
      << "a placed session waits for nothing";
  EXPECT_EQ(after_stop(reworded.session, EndReason::user_stopped, kNow + 2).session.queue_reason,
            std::nullopt)
      << "nor does one stopped while queued";
}

TEST(SessionLifecycle, APreemptionChoiceIsMarkedOnceAndWithdrawnWhenNoLongerNeeded) {
  Session running = session_in(SessionState::running);
  auto chosen = after_preemption_choice(running, true, 60'000, kNow);
  EXPECT_EQ(chosen.session.preempt_at, kNow + 60'000);
  EXPECT_TRUE(chosen.changed);
  auto again = after_preemption_choice(chosen.session, true, 60'000, kNow + 5000);
  EXPECT_FALSE(again.changed) << "the grace period does not restart";
  auto withdrawn = after_preemption_choice(chosen.session, false, 60'000, kNow + 5000);
  EXPECT_EQ(withdrawn.session.preempt_at, 0);
  Session stopping = session_in(SessionState::stopping);
  EXPECT_FALSE(after_preemption_choice(stopping, true, 60'000, kNow).changed);
}

}  // namespace
}  // namespace gpupool::services
