#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/views.hpp"
#include "service_fixture.hpp"

namespace gpupool::testing {
namespace {

using SessionService = ServiceFixture;

TEST_F(SessionService, RequestIsScheduledAndHandedToTheAgent) {
  auto session = request(alice_, 2);
  EXPECT_EQ(session.state, SessionState::scheduled);
  EXPECT_EQ(session.node, "node-1");
  EXPECT_EQ(session.gpu_indices.size(), 2u);
  EXPECT_EQ(session.jupyter_token.size(), 48u);
  auto response = sync({});
  ASSERT_EQ(response.desired.size(), 1u);
  EXPECT_EQ(response.desired[0].session_id, session.id);
  EXPECT_EQ(response.desired[0].username, "alice");
  EXPECT_EQ(response.desired[0].uid, alice_.uid);
  EXPECT_EQ(response.desired[0].image_reference, "gpupool/session:test");
}

TEST_F(SessionService, BecomesRunningOnlyWhenTheAgentSaysJupyterAnswers) {
  auto session = request(alice_, 1);
  sync({observed(session.id, ObservedPhase::starting, "")});
  EXPECT_EQ(fetch(session.id).state, SessionState::starting);
  clock_.advance(1500);
  sync({observed(session.id, ObservedPhase::running, "")});
  auto running = fetch(session.id);
  EXPECT_EQ(running.state, SessionState::running);
  EXPECT_EQ(running.started_at, clock_.now());
  auto events = *store_->session_events(session.id);
  ASSERT_EQ(events.size(), 4u);  // queued, scheduled, starting, running
  EXPECT_EQ(events[3].state, SessionState::running);
}

TEST_F(SessionService, StopKeepsGpusUntilTheContainerIsGone) {
  auto session = request(alice_, 4);
  sync({observed(session.id, ObservedPhase::running, "")});
  auto stopped = sessions_->stop_session(alice_, session.id);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->state, SessionState::stopping);
  auto waiting = request(bob_, 1);
  EXPECT_EQ(waiting.state, SessionState::queued) << "GPUs of a stopping session are not free yet";
  auto response = sync({observed(session.id, ObservedPhase::stopping, "")});
  EXPECT_EQ(fetch(session.id).state, SessionState::stopping);
  response = sync({});  // the container is gone
  auto ended = fetch(session.id);
  EXPECT_EQ(ended.state, SessionState::ended);
  EXPECT_EQ(ended.end_reason, EndReason::user_stopped);
  EXPECT_EQ(fetch(waiting.id).state, SessionState::scheduled)
      << "the queued session starts by itself";
}

TEST_F(SessionService, QueuedSessionGetsAnEstimateFromTimeLimits) {
  SessionRequest limited;
  limited.gpus = 4;
  limited.max_hours = 2;
  auto running = *sessions_->request_session(alice_, limited);
  sync({observed(running.id, ObservedPhase::running)});
  SessionRequest three_hours;
  three_hours.gpus = 4;
  three_hours.max_hours = 3;
  auto head = *sessions_->request_session(bob_, three_hours);
  UnixMillis requested = clock_.now();
  clock_.advance(1000);
  auto behind = request(bob_, 1);
  EXPECT_EQ(fetch(head.id).reason,
            "waiting for 4 free GPUs on one node; position 1; expected to start by " +
                format_rfc3339(requested + 2 * 3'600'000) + " (when time limits free the GPUs)");
  EXPECT_EQ(fetch(behind.id).reason,
            "waiting for 1 free GPU on one node; position 2; expected to start by " +
                format_rfc3339(requested + 5 * 3'600'000) + " (when time limits free the GPUs)")
      << "after the head's own three hours";
}

TEST_F(SessionService, QueuedSessionSaysWhyAndWhere) {
  request(alice_, 3);
  auto second = request(bob_, 2);
  EXPECT_EQ(second.state, SessionState::queued);
  EXPECT_EQ(second.reason, "waiting for 2 free GPUs on one node; position 1");
  auto stopped = sessions_->stop_session(bob_, second.id);
  EXPECT_EQ(stopped->state, SessionState::ended) << "a queued session ends at once";
}

TEST_F(SessionService, AnotherUsersSessionIsNotFound) {
  auto session = request(alice_, 1);
  auto seen = sessions_->get_session(bob_, session.id);
  ASSERT_FALSE(seen.ok());
  EXPECT_EQ(seen.error().code, ErrorCode::not_found);
  EXPECT_FALSE(sessions_->stop_session(bob_, session.id).ok());
  EXPECT_EQ(fetch(session.id).state, SessionState::scheduled);
  EXPECT_TRUE(sessions_->get_session(admin_, session.id).ok());
  EXPECT_TRUE(sessions_->list_sessions(bob_, true)->empty()) << "non-admins never list everyone";
}

TEST_F(SessionService, VanishedContainerEndsTheSessionWithAReason) {
  auto session = request(alice_, 1);
  sync({observed(session.id, ObservedPhase::running, "")});
  sync({});
  auto ended = fetch(session.id);
  EXPECT_EQ(ended.state, SessionState::ended);
  EXPECT_EQ(ended.end_reason, EndReason::failed);
  EXPECT_EQ(ended.reason, "the container disappeared from the node");
}

TEST_F(SessionService, ScheduledSessionIsNotEndedBeforeTheAgentSawIt) {
  auto session = request(alice_, 1);
  sync({});
  EXPECT_EQ(fetch(session.id).state, SessionState::scheduled);
}

TEST_F(SessionService, FailureReportedByTheAgentEndsTheSession) {
  auto session = request(alice_, 1);
  sync({observed(session.id, ObservedPhase::failed, "image not found")});
  auto ended = fetch(session.id);
  EXPECT_EQ(ended.end_reason, EndReason::failed);
  EXPECT_EQ(ended.reason, "image not found");
  EXPECT_TRUE(sync({}).desired.empty());
}

TEST_F(SessionService, ImpossibleRequestsAreRefusedNotQueued) {
  SessionRequest too_many;
  too_many.gpus = 5;
  auto refused = sessions_->request_session(alice_, too_many);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "asked for 5 GPUs but the largest node has 4");
  SessionRequest unknown_model;
  unknown_model.gpu_model = "B200";
  EXPECT_EQ(sessions_->request_session(alice_, unknown_model).error().code,
            ErrorCode::invalid_argument);
  SessionRequest unknown_image;
  unknown_image.image_tag = "docker.io/library/ubuntu:latest";
  EXPECT_EQ(sessions_->request_session(alice_, unknown_image).error().code, ErrorCode::not_found);
}

TEST_F(SessionService, PoolCountsFreeGpusAndTheQueue) {
  request(alice_, 3);
  request(bob_, 2);
  auto pool = sessions_->pool();
  ASSERT_TRUE(pool.ok());
  ASSERT_EQ(pool->models.size(), 1u);
  EXPECT_EQ(pool->models[0].total, 4);
  EXPECT_EQ(pool->models[0].free, 1);
  EXPECT_EQ(pool->queue_length, 1);
  EXPECT_TRUE(pool->simulated);
}

TEST_F(SessionService, SilentNodeGetsNoNewSessions) {
  clock_.advance(scheduler::kNodeSilenceLimitMillis + 1000);
  auto session = request(alice_, 1);
  EXPECT_EQ(session.state, SessionState::queued);
  sync({});  // the node speaks again
  EXPECT_EQ(fetch(session.id).state, SessionState::scheduled);
}

}  // namespace
}  // namespace gpupool::testing

namespace gpupool::testing {
namespace {

constexpr const char* kHostKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHCfYdbpEfNo85EvyD2Uq3+hSzhdPwnGB1mw03IQsEYs "
    "user@container";

TEST_F(SessionService, KeepsTheHostKeyTheAgentReadWithoutItsComment) {
  auto session = request(alice_, 1);
  sync({observed(session.id, ObservedPhase::running, "", kHostKey)});
  EXPECT_EQ(fetch(session.id).ssh_host_key,
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHCfYdbpEfNo85EvyD2Uq3+hSzhdPwnGB1mw03IQsEYs");
}

TEST_F(SessionService, IgnoresAMalformedHostKey) {
  auto session = request(alice_, 1);
  sync({observed(session.id, ObservedPhase::running, "", "ssh-ed25519 AAAA\nevil")});
  EXPECT_EQ(fetch(session.id).ssh_host_key, "");
  EXPECT_EQ(fetch(session.id).state, SessionState::running);
}

TEST_F(SessionService, EndsASessionAtItsTimeLimit) {
  SessionRequest limited;
  limited.max_hours = 0.5;
  auto session = *sessions_->request_session(alice_, limited);
  sync({observed(session.id, ObservedPhase::running)});
  clock_.advance(29 * 60 * 1000);
  sync({observed(session.id, ObservedPhase::running)});
  EXPECT_EQ(fetch(session.id).state, SessionState::running);
  clock_.advance(2 * 60 * 1000);
  auto response = sync({observed(session.id, ObservedPhase::running)});
  EXPECT_EQ(fetch(session.id).state, SessionState::stopping);
  EXPECT_TRUE(response.desired.empty()) << "the agent is told to remove it";
  sync({});
  auto ended = fetch(session.id);
  EXPECT_EQ(ended.end_reason, EndReason::time_limit);
  EXPECT_EQ(ended.reason, "reached its time limit of 0.5 h");
}

}  // namespace
}  // namespace gpupool::testing

namespace gpupool::testing {
namespace {

// Alice runs a preemptible session on all four GPUs.
class PreemptionService : public ServiceFixture {
 protected:
  Session running_preemptible_session() {
    SessionRequest cheap;
    cheap.gpus = 4;
    cheap.preemptible = true;
    auto session = *sessions_->request_session(alice_, cheap);
    sync({observed(session.id, ObservedPhase::running)});
    return session;
  }
};

TEST_F(PreemptionService, PreemptibleSessionsMakeRoomAfterAGracePeriod) {
  auto preemptible = running_preemptible_session();
  auto urgent = request(bob_, 1);
  EXPECT_EQ(urgent.state, SessionState::queued);
  EXPECT_NE(fetch(preemptible.id).preempt_at, 0);
  EXPECT_EQ(fetch(preemptible.id).state, SessionState::running)
      << "it keeps running through the grace period";
  clock_.advance(61 * 1000);
  auto response = sync({observed(preemptible.id, ObservedPhase::running)});
  EXPECT_EQ(fetch(preemptible.id).state, SessionState::stopping);
  EXPECT_TRUE(response.desired.empty());
  sync({});  // its container is gone
  auto ended = fetch(preemptible.id);
  EXPECT_EQ(ended.end_reason, EndReason::preempted);
  EXPECT_EQ(fetch(urgent.id).state, SessionState::scheduled) << fetch(urgent.id).reason;
}

TEST_F(PreemptionService, IsCalledOffWhenTheRequestGoesAway) {
  auto preemptible = running_preemptible_session();
  auto urgent = request(bob_, 1);
  ASSERT_NE(fetch(preemptible.id).preempt_at, 0);
  ASSERT_TRUE(sessions_->stop_session(bob_, urgent.id).ok());
  EXPECT_EQ(fetch(preemptible.id).preempt_at, 0);
  clock_.advance(120 * 1000);
  sync({observed(preemptible.id, ObservedPhase::running)});
  EXPECT_EQ(fetch(preemptible.id).state, SessionState::running);
}

}  // namespace
}  // namespace gpupool::testing

namespace gpupool::testing {
namespace {

TEST_F(SessionService, OneUserCanHaveOnlySoManyRequestsWaiting) {
  services::SessionSettings settings;
  settings.max_queued_per_user = 2;
  services::SessionService limited(*store_, clock_, settings);
  SessionRequest whole_node;
  whole_node.gpus = 4;
  ASSERT_EQ(limited.request_session(alice_, whole_node)->state, SessionState::scheduled);
  for (int waiting = 0; waiting < 2; ++waiting)
    ASSERT_EQ(limited.request_session(alice_, whole_node)->state, SessionState::queued);
  auto refused = limited.request_session(alice_, whole_node);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::rate_limited);
  EXPECT_NE(refused.error().message.find("2 requests waiting"), std::string::npos);
  EXPECT_TRUE(limited.request_session(bob_, whole_node).ok()) << "each user's own limit";
}

}  // namespace
}  // namespace gpupool::testing

namespace gpupool::testing {
namespace {

// A node is handed the login for a session's image registry with that session, and no other.
TEST_F(SessionService, ANodeGetsTheRegistryLoginOfASessionsImageOnly) {
  ASSERT_TRUE(store_
                  ->upsert_image({"pytorch2.7-cuda12.1-runtime",
                                  "gpus.lab:5000/session@sha256:" + std::string(64, 'a'), "pytorch",
                                  "2.7", "", "", "runtime", false, "available"})
                  .ok());
  services::SessionSettings settings;
  settings.registry_logins = {{"gpus.lab:5000", {"ci", "pw"}}, {"other.lab", {"x", "y"}}};
  sessions_ = std::make_unique<services::SessionService>(*store_, clock_, settings);
  SessionRequest from_registry;
  from_registry.image_tag = "pytorch2.7-cuda12.1-runtime";
  ASSERT_TRUE(sessions_->request_session(alice_, from_registry).ok());
  request(bob_, 1);  // the default image: a local one
  auto desired = sync({}).desired;
  ASSERT_EQ(desired.size(), 2U);
  for (const auto& session : desired) {
    bool registry = session.image_reference.starts_with("gpus.lab:5000/");
    EXPECT_EQ(session.registry_username, registry ? "ci" : "");
    EXPECT_EQ(session.registry_password, registry ? "pw" : "");
  }
}

}  // namespace
}  // namespace gpupool::testing

namespace gpupool::testing {
namespace {

class NodeLocalHomes : public ServiceFixture {
 protected:
  // node-1 has four GPUs; node-2 two, so best fit sends a one-GPU request there.
  void add_small_node(bool shared_homes) {
    small_ = node();
    small_.name = "node-2";
    small_.gpus.resize(2);
    small_.shared_homes = shared_homes;
    auto synced = sessions_->sync({small_, {}});
    ASSERT_TRUE(synced.ok()) << synced.error().message;
  }
  void end(const Session& session) {
    ASSERT_TRUE(sessions_->stop_session(alice_, session.id).ok());
    sync({});
    ASSERT_TRUE(sessions_->sync({small_, {}}).ok());
    ASSERT_EQ(fetch(session.id).state, SessionState::ended);
  }
  Node small_;
  nlohmann::json home_of(const std::string& id) {
    api::ViewContext context;
    return api::session_view(fetch(id), context, clock_.now())["home"];
  }
};

TEST_F(NodeLocalHomes, ASessionGoesWhereTheUsersHomeIsAndSaysWhenItCannot) {
  add_small_node(false);
  auto first = request(alice_, 3);  // only node-1 has three
  ASSERT_EQ(first.node, "node-1");
  end(first);
  auto second = request(alice_, 1);
  EXPECT_EQ(second.node, "node-1") << "where alice's home is, though best fit says node-2";
  EXPECT_EQ(home_of(second.id)["node"], "node-1");
  EXPECT_TRUE(home_of(second.id)["earlier_home_node"].is_null());

  request(bob_, 3);  // node-1 is full now
  auto third = request(alice_, 1);
  EXPECT_EQ(third.node, "node-2") << "no waiting for the home node: a new home elsewhere";
  EXPECT_EQ(home_of(third.id)["earlier_home_node"], "node-1");
}

TEST_F(NodeLocalHomes, HomesOnASharedFilesystemAreEverywhere) {
  add_small_node(true);
  auto first = request(alice_, 1);
  EXPECT_EQ(first.node, "node-2") << "best fit";
  end(first);  // node-1's homes are node-local, but alice's last session was on node-2
  auto second = request(alice_, 1);
  EXPECT_EQ(second.node, "node-2");
  EXPECT_TRUE(fetch(second.id).home_node.empty()) << "node-2's homes are shared: no preference";
}

}  // namespace
}  // namespace gpupool::testing

namespace gpupool::testing {
namespace {

TEST_F(SessionService, EachPlacedSessionHoldsItsOwnSshPortOnTheGatewayWhileThereAreAny) {
  services::SessionSettings settings;
  settings.gateway_ssh_ports = {2200, 2201};
  sessions_ = std::make_unique<services::SessionService>(*store_, clock_, settings);
  auto first = request(alice_, 1);
  auto second = request(bob_, 1);
  auto third = request(alice_, 1);
  EXPECT_EQ(first.gateway_ssh_port, 2200);
  EXPECT_EQ(second.gateway_ssh_port, 2201);
  EXPECT_EQ(third.gateway_ssh_port, 0) << "none left: reached on its node directly";
  ASSERT_TRUE(sessions_->stop_session(alice_, first.id).ok());
  sync({});  // its container is gone: the port is free again
  EXPECT_EQ(request(bob_, 1).gateway_ssh_port, 2200);

  api::ViewContext context;
  context.public_host = "gpus.lab.example";
  context.node_hosts = {{"node-1", "10.0.0.7"}};
  Session running = fetch(second.id);
  running.state = SessionState::running;
  auto ssh = api::session_view(running, context, clock_.now())["ssh"];
  EXPECT_EQ(ssh["command"], "ssh -p 2201 bob@gpus.lab.example");
  EXPECT_EQ(ssh["direct"]["host"], "10.0.0.7");
  EXPECT_EQ(ssh["direct"]["port"], running.ssh_port);
  EXPECT_NE(ssh["config"].get<std::string>().find("HostName gpus.lab.example\n  Port 2201"),
            std::string::npos);
}

TEST_F(SessionService, VsCodeIsOfferedForAnImageWithCodeServerOnANodeThatRelaysToIt) {
  api::ViewContext context;
  context.gateway_url = "https://gpus.lab.example";
  Session running = fetch(request(alice_, 1).id);
  running.state = SessionState::running;
  auto vscode = [&] { return api::session_view(running, context, clock_.now())["vscode"]; };
  EXPECT_TRUE(vscode().is_null()) << "an image without code-server";
  context.images_with_vscode = {running.request.image_tag};
  EXPECT_TRUE(vscode().is_null()) << "a node without an app relay (Slurm, an older agent)";
  context.relaying_nodes = {running.node};
  EXPECT_EQ(vscode()["url"], "https://gpus.lab.example/s/" + running.id + "/vscode/");
  running.state = SessionState::starting;
  EXPECT_TRUE(vscode().is_null()) << "not before it runs";
}

}  // namespace
}  // namespace gpupool::testing
