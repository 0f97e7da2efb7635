// Containers of sessions the store does not know (a lost, replaced or restored database):
// never released on the strength of a missing row, fenced from the scheduler, listed for
// admins, and released only when an admin asks.
#include <gtest/gtest.h>

#include "service_fixture.hpp"

namespace gpupool::testing {
namespace {

using UnknownContainers = ServiceFixture;

ObservedSession unknown(const std::string& id, std::vector<int> gpus, std::vector<int> ports) {
  ObservedSession observed;
  observed.session_id = id;
  observed.phase = ObservedPhase::starting;
  observed.user = "mallory";
  observed.gpu_indices = std::move(gpus);
  observed.host_ports = std::move(ports);
  observed.holdings_known = true;
  return observed;
}

TEST_F(UnknownContainers, AreNeverReleasedAndAreListed) {
  auto response = sync({unknown("ghost", {0, 1}, {30000, 30001})});
  EXPECT_TRUE(response.release.empty()) << "a missing row is no reason to remove a container";
  auto listed = sessions_->unknown_containers();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].node, "node-1");
  EXPECT_EQ(listed[0].session_id, "ghost");
  EXPECT_EQ(listed[0].user, "mallory");
  EXPECT_EQ(listed[0].first_seen, clock_.now());
  clock_.advance(5000);
  sync({unknown("ghost", {0, 1}, {30000, 30001})});
  EXPECT_EQ(sessions_->unknown_containers()[0].first_seen, clock_.now() - 5000);
}

TEST_F(UnknownContainers, TheirGpusAndPortsAreFenced) {
  sync({unknown("ghost", {0, 1}, {30000, 30001})});
  auto pool = sessions_->pool();
  ASSERT_TRUE(pool.ok());
  EXPECT_EQ(pool->node_free_gpus[0], 2);
  auto two = request(bob_, 2);
  ASSERT_EQ(two.state, SessionState::scheduled);
  EXPECT_EQ(two.gpu_indices, (std::vector<int>{2, 3}));
  EXPECT_NE(two.jupyter_port, 30000);
  EXPECT_NE(two.ssh_port, 30001);
  EXPECT_EQ(request(alice_, 1).state, SessionState::queued) << "no GPU is left";
}

TEST_F(UnknownContainers, OneWithoutLabelsFencesItsWholeNode) {
  ObservedSession unlabelled;
  unlabelled.session_id = "old";
  sync({unlabelled});
  EXPECT_EQ(request(alice_, 1).state, SessionState::queued);
}

TEST_F(UnknownContainers, GoOnlyWhenAnAdminSaysSo) {
  EXPECT_EQ(sessions_->remove_unknown_container("node-1", "ghost").error().code,
            ErrorCode::not_found);
  sync({unknown("ghost", {0}, {30000, 30001})});
  ASSERT_TRUE(sessions_->remove_unknown_container("node-1", "ghost").ok());
  EXPECT_TRUE(sessions_->unknown_containers()[0].removal_requested);
  auto response = sync({unknown("ghost", {0}, {30000, 30001})});
  EXPECT_EQ(response.release, std::vector<std::string>{"ghost"});
  sync({});  // the agent removed it
  EXPECT_TRUE(sessions_->unknown_containers().empty());
  EXPECT_EQ(request(alice_, 4).state, SessionState::scheduled) << "the fence went with it";
}

TEST_F(UnknownContainers, AnAdoptedOneIsASessionOfItsUserAgainBilledFromItsAdoption) {
  auto ghost = unknown("ghost", {0, 1}, {30000, 30001});
  ghost.user = "alice";
  ghost.image = "gpupool/session:test";
  ghost.jupyter_token = "its-token";
  sync({ghost});
  auto adopted = sessions_->adopt_unknown_container("node-1", "ghost");
  ASSERT_TRUE(adopted.ok()) << adopted.error().message;
  EXPECT_EQ(adopted->user_id, alice_.id);
  EXPECT_EQ(adopted->state, SessionState::starting);
  EXPECT_EQ(adopted->gpu_indices, (std::vector<int>{0, 1}));
  EXPECT_EQ(adopted->gpu_uuids, (std::vector<std::string>{"GPU-0", "GPU-1"}));
  EXPECT_EQ(adopted->jupyter_port, 30000);
  EXPECT_EQ(adopted->ssh_port, 30001);
  EXPECT_EQ(adopted->jupyter_token, "its-token") << "the gateway reaches its Jupyter";
  EXPECT_EQ(adopted->request.image_tag, "pytorch1.13-cpu-debian12-runtime");
  EXPECT_EQ(adopted->billed_gpu_model, "A100-80GB");
  EXPECT_TRUE(sessions_->unknown_containers().empty());

  // The agent finds it running: it is desired, not released, and its GPUs stay its own.
  ghost.phase = ObservedPhase::running;
  auto response = sync({ghost});
  ASSERT_EQ(response.desired.size(), 1u);
  EXPECT_EQ(response.desired[0].session_id, "ghost");
  EXPECT_TRUE(response.release.empty());
  Session running = fetch("ghost");
  EXPECT_EQ(running.state, SessionState::running);
  EXPECT_EQ(running.started_at, clock_.now()) << "billed from when its Jupyter answers";
  Session other = request(bob_, 4);
  EXPECT_EQ(fetch(other.id).state, SessionState::queued) << "two of four GPUs are taken";

  EXPECT_EQ(sessions_->adopt_unknown_container("node-1", "ghost").error().code,
            ErrorCode::not_found)
      << "adopted once";
}

TEST_F(UnknownContainers, OneThatCannotBeASessionIsRefusedWithWhy) {
  auto stranger = unknown("stranger", {0}, {30000, 30001});  // "mallory" is not a user here
  stranger.jupyter_token = "t";
  auto unlabelled = unknown("old", {}, {});
  unlabelled.holdings_known = false;
  auto unreadable = unknown("sealed", {2}, {30004, 30005});
  unreadable.user = "alice";
  sync({stranger, unlabelled, unreadable});
  auto refused = sessions_->adopt_unknown_container("node-1", "stranger");
  EXPECT_EQ(refused.error().code, ErrorCode::conflict);
  EXPECT_NE(refused.error().message.find("\"mallory\" is not in this database"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(sessions_->adopt_unknown_container("node-1", "old").error().code, ErrorCode::conflict);
  EXPECT_EQ(sessions_->adopt_unknown_container("node-1", "sealed").error().code,
            ErrorCode::conflict);
  EXPECT_EQ(sessions_->adopt_unknown_container("node-2", "stranger").error().code,
            ErrorCode::not_found);
  EXPECT_EQ(sessions_->unknown_containers().size(), 3u) << "all still there, still fenced";
}

TEST_F(UnknownContainers, KnownSessionsNoLongerWantedAreReleased) {
  auto session = request(alice_, 1);
  sync({observed(session.id, ObservedPhase::running)});
  ASSERT_TRUE(sessions_->stop_session(alice_, session.id).ok());
  auto response = sync({observed(session.id, ObservedPhase::running)});
  EXPECT_TRUE(response.desired.empty());
  EXPECT_EQ(response.release, std::vector<std::string>{session.id});
  EXPECT_TRUE(sessions_->unknown_containers().empty());
}

}  // namespace
}  // namespace gpupool::testing
