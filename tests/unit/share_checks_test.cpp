// The backstop behind the GPU-memory cap, on the server with simulated time: a share session
// whose processes the driver finds using more than its share and the slack, for longer than
// the grace, is stopped; a brief excess, a whole-GPU session or a session within its slack
// is left alone.
#include <gtest/gtest.h>

#include "service_fixture.hpp"

namespace gpupool::testing {
namespace {

class ShareChecks : public ServiceFixture {
 protected:
  Session share(const User& user, std::int64_t gpu_memory_mb) {
    SessionRequest request;
    request.gpu_memory_mb = gpu_memory_mb;
    auto session = sessions_->request_session(user, request);
    EXPECT_TRUE(session.ok()) << session.error().message;
    return *session;
  }

  // One sync in which the driver finds each session using `used_mb` of its first GPU.
  void report(const std::vector<std::pair<Session, std::int64_t>>& uses) {
    std::map<int, GpuReading> readings;
    std::vector<ObservedSession> observed;
    for (const auto& [session, used_mb] : uses) {
      Session current = fetch(session.id);
      observed.push_back({session.id, ObservedPhase::running, "", ""});
      if (current.gpu_indices.empty()) continue;
      GpuReading& reading = readings[current.gpu_indices.front()];
      reading.index = current.gpu_indices.front();
      reading.sessions.push_back({session.id, used_mb, 50});
    }
    SyncRequest request{node(), observed};
    for (auto& [index, reading] : readings) request.gpu_readings.push_back(reading);
    auto response = sessions_->sync(request);
    ASSERT_TRUE(response.ok()) << response.error().message;
  }
};

TEST_F(ShareChecks, AShareOverItsShareAndSlackPastTheGraceIsStopped) {
  Session session = share(alice_, 10 * 1024);
  sync({{session.id, ObservedPhase::running, "", ""}});
  ASSERT_EQ(fetch(session.id).state, SessionState::running);

  report({{session, 10 * 1024 + 1536 + 1}});  // first seen over: the grace starts
  EXPECT_EQ(fetch(session.id).state, SessionState::running);
  clock_.advance(9'000);
  report({{session, 30 * 1024}});
  EXPECT_EQ(fetch(session.id).state, SessionState::running) << "within the 10 s grace";
  clock_.advance(1'000);
  report({{session, 30 * 1024}});
  Session stopped = fetch(session.id);
  EXPECT_EQ(stopped.state, SessionState::stopping);
  EXPECT_EQ(stopped.end_reason, EndReason::gpu_share_exceeded);
  EXPECT_NE(stopped.reason.find("used 30.0 GB of GPU"), std::string::npos) << stopped.reason;
  EXPECT_NE(stopped.reason.find("share of 10.0 GB"), std::string::npos) << stopped.reason;
}

TEST_F(ShareChecks, ABriefExcessTheSlackAndWholeGpusAreLeftAlone) {
  Session brief = share(alice_, 10 * 1024);
  Session slack = share(bob_, 10 * 1024);
  Session whole = request(admin_, 1);
  sync({{brief.id, ObservedPhase::running, "", ""},
        {slack.id, ObservedPhase::running, "", ""},
        {whole.id, ObservedPhase::running, "", ""}});
  for (int second = 0; second < 60; second += 5) {
    // Over for 5 s now and then: loading a model's kernels, say; never for the grace.
    std::int64_t brief_mb = second % 10 == 0 ? 20 * 1024 : 8 * 1024;
    report({{brief, brief_mb}, {slack, 10 * 1024 + 1536}, {whole, 80 * 1024}});
    clock_.advance(5'000);
  }
  EXPECT_EQ(fetch(brief.id).state, SessionState::running);
  EXPECT_EQ(fetch(slack.id).state, SessionState::running) << "the slack is allowed";
  EXPECT_EQ(fetch(whole.id).state, SessionState::running) << "a whole GPU has no share";
}

TEST_F(ShareChecks, ANegativeSlackTurnsTheCheckOff) {
  services::SessionSettings settings;
  settings.gpu_share_slack_mb = -1;
  sessions_ = std::make_unique<services::SessionService>(*store_, clock_, settings);
  Session session = share(alice_, 10 * 1024);
  sync({{session.id, ObservedPhase::running, "", ""}});
  for (int i = 0; i < 5; ++i) {
    report({{session, 70 * 1024}});
    clock_.advance(10'000);
  }
  EXPECT_EQ(fetch(session.id).state, SessionState::running);
}

}  // namespace
}  // namespace gpupool::testing
