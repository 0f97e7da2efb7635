// A node that stops syncing: its sessions end as node_lost after the grace period, billed up
// to its last report; when it comes back, their containers are released and their GPUs stay
// fenced until the agent has removed them.
#include <gtest/gtest.h>

#include "metering/meter.hpp"
#include "service_fixture.hpp"

namespace gpupool::testing {
namespace {

using SilentNodes = ServiceFixture;

constexpr UnixMillis kMinute = 60 * 1000;

ObservedSession holding(const Session& session, ObservedPhase phase) {
  ObservedSession observed{session.id, phase, "", ""};
  observed.gpu_indices = session.gpu_indices;
  observed.host_ports = {session.jupyter_port, session.ssh_port};
  observed.holdings_known = true;
  return observed;
}

TEST_F(SilentNodes, SessionsEndAsNodeLostBilledUpToTheLastReport) {
  Session session = request(alice_, 4);
  sync({observed(session.id, ObservedPhase::running)});
  clock_.advance(10 * kMinute);
  sync({observed(session.id, ObservedPhase::running)});
  UnixMillis last_report = clock_.now();

  clock_.advance(4 * kMinute);  // within the grace period: nothing happens
  ASSERT_TRUE(sessions_->end_sessions_of_silent_nodes().ok());
  EXPECT_EQ(fetch(session.id).state, SessionState::running);

  clock_.advance(2 * kMinute);
  ASSERT_TRUE(sessions_->end_sessions_of_silent_nodes().ok());
  Session lost = fetch(session.id);
  EXPECT_EQ(lost.state, SessionState::ended);
  EXPECT_EQ(lost.end_reason, EndReason::node_lost);
  EXPECT_NE(lost.reason.find("node-1"), std::string::npos);
  EXPECT_EQ(lost.ended_at, last_report) << "billing stops when the node went silent";
  EXPECT_EQ(metering::billed_seconds(lost, clock_.now()), 10 * 60);

  clock_.advance(60 * kMinute);
  ASSERT_TRUE(sessions_->end_sessions_of_silent_nodes().ok());
  EXPECT_EQ(fetch(session.id).ended_at, last_report) << "ended once";
}

TEST_F(SilentNodes, ASyncThatChangesNothingWritesNothingYetSilenceIsTimedExactly) {
  Session session = request(alice_, 1);
  sync({observed(session.id, ObservedPhase::running)});
  clock_.advance(3000);
  sync({observed(session.id, ObservedPhase::running)});
  auto changes = store_->change_count();
  clock_.advance(3000);
  sync({observed(session.id, ObservedPhase::running)});
  EXPECT_EQ(store_->change_count(), changes) << "a heartbeat costs no commit";
  UnixMillis last_report = clock_.now();  // newer than the node's stored last_seen

  clock_.advance(6 * kMinute);
  ASSERT_TRUE(sessions_->end_sessions_of_silent_nodes().ok());
  Session lost = fetch(session.id);
  EXPECT_EQ(lost.end_reason, EndReason::node_lost);
  EXPECT_EQ(lost.ended_at, last_report) << "billed up to the last report, not the last write";
}

TEST_F(SilentNodes, TheStoredLastSeenLagsByAtMostTenSeconds) {
  sync({});
  for (int i = 0; i < 12; ++i) {
    clock_.advance(1000);
    sync({});
  }
  auto nodes = store_->list_nodes();
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_GE(nodes->front().last_seen, clock_.now() - 10'000);
  EXPECT_LT(nodes->front().last_seen, clock_.now());
}

TEST_F(SilentNodes, AfterTheServerWasDownEachNodeGetsTheWholeGraceToComeBack) {
  Session session = request(alice_, 1);
  sync({observed(session.id, ObservedPhase::running)});
  // The host reboots: for an hour nobody runs, then a new server starts on the same store.
  clock_.advance(60 * kMinute);
  sessions_ = std::make_unique<services::SessionService>(*store_, clock_);
  clock_.advance(4 * kMinute);
  ASSERT_TRUE(sessions_->end_sessions_of_silent_nodes().ok());
  EXPECT_EQ(fetch(session.id).state, SessionState::running) << "its agent may still report";
  clock_.advance(2 * kMinute);
  ASSERT_TRUE(sessions_->end_sessions_of_silent_nodes().ok());
  EXPECT_EQ(fetch(session.id).end_reason, EndReason::node_lost);
}

TEST_F(SilentNodes, AContainerDownAcrossAnOutageIsBilledOnlyUpToTheNodesLastReport) {
  ASSERT_TRUE(store_->set_price({"A100-80GB", 3600 * kMicrosPerCredit, clock_.now()}).ok());
  LedgerEntry top_up{0,  alice_.id,  clock_.now(),  LedgerKind::top_up, 100'000 * kMicrosPerCredit,
                     "", "top-up-1", "for the test"};
  ASSERT_TRUE(store_->add_ledger_entry(top_up).ok());
  Session session = request(alice_, 1);
  sync({observed(session.id, ObservedPhase::running)});
  clock_.advance(10 * kMinute);
  sync({observed(session.id, ObservedPhase::running)});
  UnixMillis last_report = clock_.now();
  // The host lost power for an hour; its engine stamps the stop when it comes back.
  clock_.advance(60 * kMinute);
  ObservedSession restarting = observed(session.id, ObservedPhase::restarting, "exit code 255");
  restarting.stopped_at = clock_.now() - 5000;
  sync({restarting});
  EXPECT_EQ(fetch(session.id).down_since, last_report);
  clock_.advance(kMinute);
  sync({observed(session.id, ObservedPhase::running)});
  Session back = fetch(session.id);
  EXPECT_EQ(back.state, SessionState::running);
  EXPECT_EQ(back.restarts, 1);
  EXPECT_EQ(metering::billed_seconds(back, clock_.now()), 10 * 60);

  ASSERT_TRUE(sessions_->stop_session(alice_, session.id).ok());
  clock_.advance(30'000);
  sync({});
  Session ended = fetch(session.id);
  ASSERT_EQ(ended.state, SessionState::ended);
  EXPECT_EQ(metering::billed_seconds(ended, clock_.now()), 10 * 60 + 30);
  auto entries = store_->ledger(alice_.id, 10);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u) << "the top-up, and one charge";
  EXPECT_EQ(entries->front().kind, LedgerKind::charge);
  EXPECT_EQ(entries->front().amount_micros, -630 * kMicrosPerCredit) << "a credit a second";
}

TEST_F(SilentNodes, AReturningNodesContainersAreReleasedAndTheirGpusFencedUntilGone) {
  Session lost = request(alice_, 4);
  sync({observed(lost.id, ObservedPhase::running)});
  lost = fetch(lost.id);
  clock_.advance(6 * kMinute);
  ASSERT_TRUE(sessions_->end_sessions_of_silent_nodes().ok());
  Session waiting = request(bob_, 4);

  // The agent is back, still running the lost session's container on all four GPUs.
  auto response = sync({holding(lost, ObservedPhase::running)});
  EXPECT_EQ(response.release, (std::vector<std::string>{lost.id}));
  EXPECT_EQ(fetch(waiting.id).state, SessionState::queued) << "its GPUs are not handed out yet";
  EXPECT_EQ(fetch(lost.id).state, SessionState::ended) << "a lost session does not come back";

  sync({});  // the agent has removed it
  EXPECT_EQ(fetch(waiting.id).state, SessionState::scheduled);
}

TEST_F(SilentNodes, AStoppingSessionEndsWithItsOwnReason) {
  Session session = request(alice_, 1);
  sync({observed(session.id, ObservedPhase::running)});
  ASSERT_TRUE(sessions_->stop_session(alice_, session.id).ok());
  clock_.advance(6 * kMinute);
  ASSERT_TRUE(sessions_->end_sessions_of_silent_nodes().ok());
  Session ended = fetch(session.id);
  EXPECT_EQ(ended.state, SessionState::ended);
  EXPECT_EQ(ended.end_reason, EndReason::user_stopped);
}

}  // namespace
}  // namespace gpupool::testing
