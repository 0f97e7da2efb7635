// Idle reclaim on the server with simulated time: what nodes report of each running session's
// use, over hours, against the policies of its owner and their groups.
#include <gtest/gtest.h>

#include "metering/meter.hpp"
#include "service_fixture.hpp"

namespace gpupool::testing {
namespace {

constexpr UnixMillis kMinute = 60 * 1000;

SessionActivity quiet() {
  SessionActivity activity;
  activity.cpu_cores = 0.01;
  activity.ssh_connections = 0;
  return activity;
}

SessionActivity busy() {
  SessionActivity activity = quiet();
  activity.cpu_cores = 3.5;
  return activity;
}

ObservedSession running(const Session& session, std::optional<SessionActivity> activity) {
  ObservedSession observed{session.id, ObservedPhase::running, "", ""};
  observed.activity = activity;
  return observed;
}

class IdleReclaim : public ServiceFixture {
 protected:
  // Syncs every `step` for `duration`, the sessions reported running with `activity`.
  void report_for(const std::vector<Session>& sessions,
                  const std::optional<SessionActivity>& activity, UnixMillis duration,
                  UnixMillis step = 5 * kMinute) {
    for (UnixMillis passed = 0; passed < duration; passed += step) {
      clock_.advance(step);
      std::vector<ObservedSession> observed;
      for (const auto& session : sessions) observed.push_back(running(session, activity));
      sync(observed);
    }
  }
};

TEST_F(IdleReclaim, AnUnusedSessionIsWarnedThenReclaimedAndChargedOnce) {
  Session session = request(alice_, 1);
  sync({running(session, quiet())});
  UnixMillis started = fetch(session.id).started_at;

  clock_.advance(119 * kMinute);
  sync({running(session, quiet())});
  EXPECT_EQ(fetch(session.id).idle_warned_at, 0) << "the default window is two hours";
  clock_.advance(kMinute);
  sync({running(session, quiet())});
  EXPECT_EQ(fetch(session.id).idle_warned_at, clock_.now());
  EXPECT_EQ(fetch(session.id).state, SessionState::running);

  clock_.advance(15 * kMinute);  // the default grace
  sync({running(session, quiet())});
  Session stopping = fetch(session.id);
  EXPECT_EQ(stopping.state, SessionState::stopping);
  EXPECT_EQ(stopping.end_reason, EndReason::idle_reclaimed);
  EXPECT_NE(stopping.reason.find("for 2 h 15 min"), std::string::npos) << stopping.reason;

  SyncResponse response = sync({running(session, quiet())});
  EXPECT_TRUE(response.desired.empty()) << "its container is to go";
  sync({});
  Session ended = fetch(session.id);
  EXPECT_EQ(ended.state, SessionState::ended);
  EXPECT_EQ(ended.end_reason, EndReason::idle_reclaimed);
  EXPECT_EQ(metering::billed_seconds(ended, clock_.now()), (ended.ended_at - started) / 1000);
}

TEST_F(IdleReclaim, UseAtAnyTimeKeepsItAndAnUnmeasuredSessionIsNeverIdle) {
  Session used = request(alice_, 1);
  Session unmeasured = request(bob_, 1);
  sync({running(used, busy()), running(unmeasured, std::nullopt)});
  for (int hour = 0; hour < 6; ++hour) {
    clock_.advance(kMinute);
    sync({running(used, busy()), running(unmeasured, std::nullopt)});
    clock_.advance(59 * kMinute);
    sync({running(used, quiet()), running(unmeasured, std::nullopt)});
  }
  EXPECT_EQ(fetch(used.id).state, SessionState::running);
  EXPECT_EQ(fetch(used.id).idle_warned_at, 0);
  EXPECT_EQ(fetch(unmeasured.id).state, SessionState::running);
  EXPECT_EQ(fetch(unmeasured.id).idle_warned_at, 0);
}

TEST_F(IdleReclaim, UseAfterAWarningLiftsItAndAQuietHeartbeatWritesNothing) {
  Session session = request(alice_, 1);
  sync({running(session, quiet())});
  report_for({session}, quiet(), 120 * kMinute);
  ASSERT_NE(fetch(session.id).idle_warned_at, 0);
  clock_.advance(3000);
  sync({running(session, quiet())});
  auto changes = store_->change_count();
  clock_.advance(3000);  // within the node's own write interval
  sync({running(session, quiet())});
  EXPECT_EQ(store_->change_count(), changes) << "a quiet heartbeat costs no commit";

  SessionActivity notebook = quiet();
  notebook.jupyter_quiet_millis = 10'000;  // someone ran a cell 10 s ago
  clock_.advance(kMinute);
  sync({running(session, notebook)});
  EXPECT_EQ(fetch(session.id).idle_warned_at, 0);
  EXPECT_EQ(fetch(session.id).state, SessionState::running);
}

TEST_F(IdleReclaim, AfterARestartUseCountsFromTheServersStart) {
  Session session = request(alice_, 1);
  sync({running(session, quiet())});
  clock_.advance(10 * 60 * kMinute);  // the server was down for ten hours
  sessions_ = std::make_unique<services::SessionService>(*store_, clock_);
  sync({running(session, quiet())});
  EXPECT_EQ(fetch(session.id).idle_warned_at, 0) << "nobody is reclaimed for the server's downtime";
  report_for({session}, quiet(), 120 * kMinute);
  EXPECT_NE(fetch(session.id).idle_warned_at, 0);
}

TEST_F(IdleReclaim, PoliciesOfUsersAndGroupsApply) {
  auto group = store_->create_group("lab", clock_.now());
  ASSERT_TRUE(group.ok());
  ASSERT_TRUE(store_->set_group_members(group->id, {alice_.id, bob_.id}).ok());
  // The lab's sessions are never reclaimed, but Bob's own rule reclaims his after 30 min.
  ASSERT_TRUE(store_->set_idle_policy({QuotaScope::group, group->id, "", 0, {}, {}, {}}).ok());
  ASSERT_TRUE(store_->set_idle_policy({QuotaScope::user, bob_.id, "", 30, 0, {}, {}}).ok());
  auto rules = store_->idle_policies_for(bob_.id);
  ASSERT_TRUE(rules.ok());
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ((*rules)[0].subject_name, "bob");
  EXPECT_EQ((*rules)[1].subject_name, "lab");

  Session alices = request(alice_, 1);
  Session bobs = request(bob_, 1);
  sync({running(alices, quiet()), running(bobs, quiet())});
  report_for({alices, bobs}, quiet(), 30 * kMinute);
  EXPECT_EQ(fetch(bobs.id).state, SessionState::stopping) << "30 min and no grace";
  report_for({alices, bobs}, quiet(), 24 * 60 * kMinute, 60 * kMinute);
  EXPECT_EQ(fetch(alices.id).state, SessionState::running);
  EXPECT_EQ(fetch(alices.id).idle_warned_at, 0);

  ASSERT_TRUE(*store_->delete_idle_policy(QuotaScope::group, group->id));
  EXPECT_FALSE(*store_->delete_idle_policy(QuotaScope::group, group->id));
  report_for({alices, bobs}, quiet(), 20 * kMinute);
  EXPECT_EQ(fetch(alices.id).state, SessionState::stopping) << "the default applies again";
}

TEST_F(IdleReclaim, OwnersKeepTheirOwnAndAdminsExempt) {
  Session session = request(alice_, 1);
  sync({running(session, quiet())});
  report_for({session}, quiet(), 120 * kMinute);
  ASSERT_NE(fetch(session.id).idle_warned_at, 0);

  EXPECT_EQ(sessions_->keep_session(bob_, session.id).error().code, ErrorCode::not_found);
  auto kept = sessions_->keep_session(alice_, session.id);
  ASSERT_TRUE(kept.ok()) << kept.error().message;
  EXPECT_EQ(kept->idle_warned_at, 0);
  EXPECT_EQ(fetch(session.id).idle_keeps, 1);
  report_for({session}, quiet(), 115 * kMinute);
  EXPECT_EQ(fetch(session.id).idle_warned_at, 0) << "the window starts again at the keep";

  ASSERT_TRUE(sessions_->set_idle_exempt(session.id, true).ok());
  report_for({session}, quiet(), 24 * 60 * kMinute, 60 * kMinute);
  EXPECT_EQ(fetch(session.id).state, SessionState::running);
  EXPECT_TRUE(fetch(session.id).idle_exempt);
  EXPECT_EQ(sessions_->set_idle_exempt("nosuch", true).error().code, ErrorCode::not_found);
}

}  // namespace
}  // namespace gpupool::testing
