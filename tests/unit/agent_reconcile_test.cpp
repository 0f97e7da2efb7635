// The agent's reconcile loop against an in-memory engine with faults on cue: what it
// creates, starts, reports and removes when the engine fails, hangs, forgets or restarts.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "agent/agent.hpp"
#include "fake_container_engine.hpp"
#include "gpu/gpu_probe.hpp"
#include "scripted_channel.hpp"

namespace gpupool::testing {
namespace {

using namespace std::chrono_literals;

// Jupyter answers as soon as the container runs, unless told to stay silent.
class ScriptedReadiness final : public agent::ReadinessCheck {
 public:
  explicit ScriptedReadiness(FakeContainerEngine& engine) : engine_(engine) {}
  bool jupyter_answers(const DesiredSession& session) override {
    ++asked;
    return !silent && engine_.state_of(session.session_id) == "running";
  }
  std::atomic<bool> silent{false};
  std::atomic<int> asked{0};  // once asked, the agent has set its deadline

 private:
  FakeContainerEngine& engine_;
};

// Counts its installs; fails them on cue.
class ScriptedFirewall final : public agent::SessionFirewall {
 public:
  Status ensure() override {
    ++installs;
    if (broken) return make_error(ErrorCode::unavailable, "iptables: permission denied");
    return {};
  }
  std::atomic<int> installs{0};
  std::atomic<bool> broken{false};
};

// Reports what the test sets for each session; CPU time grows only when told.
class ScriptedActivity final : public agent::ActivitySensor {
 public:
  agent::ActivitySample sample(const agent::WatchedSession& session) override {
    std::lock_guard lock(mutex);
    watched_containers[session.session_id] = session.container_id;
    return samples[session.session_id];
  }
  std::mutex mutex;
  std::map<std::string, agent::ActivitySample> samples;   // guarded by mutex
  std::map<std::string, std::string> watched_containers;  // guarded by mutex
};

class AgentReconcile : public ::testing::Test {
 protected:
  AgentReconcile() {
    agent::AgentSettings settings;
    settings.node.name = "node-1";
    settings.container.node_name = "node-1";
    settings.ready_timeout = 180s;
    agent_ = std::make_unique<agent::Agent>(settings, channel_, engine_, firewall_, *probe_,
                                            readiness_, activity_, clock_);
  }
  ~AgentReconcile() override {
    engine_.release_all();  // hung workers return before the agent joins them
    agent_.reset();
  }

  static DesiredSession desired(const std::string& id) {
    DesiredSession session;
    session.session_id = id;
    session.username = "alice";
    session.uid = 20001;
    session.image_reference = "gpupool/session:test";
    session.jupyter_port = 27000;
    session.ssh_port = 27001;
    session.jupyter_token = "token";
    return session;
  }

  // Reconciles until `done` holds (workers run on their own threads), at most 10 s.
  ::testing::AssertionResult reconcile_until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      (void)agent_->reconcile_once();
      if (done()) return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(5ms);
    }
    return ::testing::AssertionFailure() << "not reached within 10 s";
  }

  std::function<bool()> reported(const std::string& id, ObservedPhase phase) {
    return [this, id, phase] { return channel_.phase_of(id) == phase; };
  }

  ManualClock clock_{1'000'000};
  FakeContainerEngine engine_;
  ScriptedFirewall firewall_;
  ScriptedChannel channel_;
  ScriptedReadiness readiness_{engine_};
  ScriptedActivity activity_;
  std::unique_ptr<GpuProbe> probe_ = std::move(*make_simulated_gpu_probe("1xA100-80GB"));
  std::unique_ptr<agent::Agent> agent_;
};

TEST_F(AgentReconcile, StartsADesiredSessionAndReportsItRunningWithItsHostKey) {
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  EXPECT_EQ(engine_.state_of("s1"), "running");
  EXPECT_EQ(engine_.volumes(), std::set<std::string>{agent::home_volume_name("alice")});
  EXPECT_EQ(channel_.observed("s1")->ssh_host_key,
            std::string(FakeContainerEngine::kHostKey) + " user@container\n");
  EXPECT_EQ(engine_.calls(EngineCall::create), 1);
  ASSERT_TRUE(agent_->reconcile_once().ok());
  EXPECT_EQ(engine_.calls(EngineCall::create), 1) << "a running session is left alone";
}

TEST_F(AgentReconcile, ACreateThatFailsIsReportedAsFailedWithTheEnginesWords) {
  engine_.fail_next(EngineCall::create, make_error(ErrorCode::internal, "no space left on device"));
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::failed)));
  EXPECT_EQ(channel_.observed("s1")->message, "no space left on device");
  ASSERT_TRUE(agent_->reconcile_once().ok());
  EXPECT_EQ(engine_.calls(EngineCall::create), 1) << "a failed session is not retried";
}

TEST_F(AgentReconcile, AnImageTheNodeLacksIsPulledWhileTheSessionSaysHowFarItGot) {
  auto session = desired("s1");
  session.image_reference = "gpus.lab:5000/session@sha256:abc";
  session.registry_username = "ci";
  session.registry_password = "pw";
  engine_.lack_image(session.image_reference);
  engine_.hold_pulls(true);
  channel_.set_desired({session});
  ASSERT_TRUE(reconcile_until([&] {
    auto observed = channel_.observed("s1");
    return observed && observed->message == "pulling image: 1.0 of 2.0 GB, 1 of 2 layers";
  }));
  EXPECT_EQ(channel_.phase_of("s1"), ObservedPhase::starting);
  EXPECT_EQ(engine_.calls(EngineCall::create), 0) << "nothing is made before the image is there";
  auto credentials = engine_.pulled_with(session.image_reference);
  ASSERT_TRUE(credentials.has_value());
  EXPECT_EQ(credentials->username, "ci");
  EXPECT_EQ(credentials->password, "pw");
  engine_.hold_pulls(false);
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  EXPECT_EQ(channel_.observed("s1")->message, "");
}

TEST_F(AgentReconcile, APullStopsWhenItsSessionIsNoLongerWanted) {
  auto session = desired("s1");
  engine_.lack_image(session.image_reference);
  engine_.hold_pulls(true);
  channel_.set_desired({session});
  ASSERT_TRUE(reconcile_until([&] { return engine_.waiting(EngineCall::pull) == 1; }));
  channel_.set_desired({});  // the user stopped it
  ASSERT_TRUE(reconcile_until([&] { return engine_.waiting(EngineCall::pull) == 0; }));
  ASSERT_TRUE(agent_->reconcile_once().ok());
  EXPECT_EQ(engine_.calls(EngineCall::create), 0);
  EXPECT_FALSE(*engine_.image_present(session.image_reference));
}

TEST_F(AgentReconcile, AnImageAlreadyThereIsNotPulled) {
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  EXPECT_EQ(engine_.calls(EngineCall::pull), 0);
}

TEST_F(AgentReconcile, APullTheRegistryRefusesFailsTheSessionWithItsWordsBeforeAnythingIsMade) {
  auto session = desired("s1");
  engine_.lack_image(session.image_reference);
  engine_.fail_next(EngineCall::pull,
                    make_error(ErrorCode::unavailable,
                               "pulling gpupool/session:test: manifest unknown: manifest unknown"));
  channel_.set_desired({session});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::failed)));
  EXPECT_EQ(channel_.observed("s1")->message,
            "pulling gpupool/session:test: manifest unknown: manifest unknown");
  EXPECT_EQ(engine_.calls(EngineCall::create), 0);
  EXPECT_TRUE(engine_.networks().empty()) << "no island left behind";
  ASSERT_TRUE(agent_->reconcile_once().ok());
  EXPECT_EQ(engine_.calls(EngineCall::pull), 1) << "a failed session is not retried";
}

TEST_F(AgentReconcile, ImagesWantedAheadArePulledOneAtATimeAndOnlyOnce) {
  engine_.lack_image("gpus.lab:5000/a@sha256:1");
  engine_.lack_image("gpus.lab:5000/b@sha256:2");
  engine_.hold_pulls(true);
  channel_.set_prepull({{"gpus.lab:5000/a@sha256:1", "ci", "pw"}, {"gpus.lab:5000/b@sha256:2"}});
  ASSERT_TRUE(reconcile_until([&] { return engine_.waiting(EngineCall::pull) == 1; }));
  ASSERT_TRUE(agent_->reconcile_once().ok());
  EXPECT_EQ(engine_.calls(EngineCall::pull), 1) << "one at a time";
  EXPECT_EQ(engine_.pulled_with("gpus.lab:5000/a@sha256:1")->username, "ci");
  engine_.hold_pulls(false);
  ASSERT_TRUE(reconcile_until([&] {
    return *engine_.image_present("gpus.lab:5000/a@sha256:1") &&
           *engine_.image_present("gpus.lab:5000/b@sha256:2");
  }));
  EXPECT_EQ(engine_.pulled_with("gpus.lab:5000/b@sha256:2")->username, "") << "anonymously";
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(agent_->reconcile_once().ok());
  EXPECT_EQ(engine_.calls(EngineCall::pull), 2) << "held images are not pulled again";
}

TEST_F(AgentReconcile, AnImageThatCannotBePulledAheadIsTriedAgainOnlyAfterAWhile) {
  engine_.lack_image("gpus.lab:5000/a@sha256:1");
  engine_.fail_next(EngineCall::pull, make_error(ErrorCode::unavailable, "connection refused"));
  channel_.set_prepull({{"gpus.lab:5000/a@sha256:1"}});
  ASSERT_TRUE(reconcile_until([&] { return engine_.calls(EngineCall::pull) == 1; }));
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(agent_->reconcile_once().ok());
  }
  EXPECT_EQ(engine_.calls(EngineCall::pull), 1);
  clock_.advance(10 * 60 * 1000 + 1);
  ASSERT_TRUE(reconcile_until([&] { return *engine_.image_present("gpus.lab:5000/a@sha256:1"); }));
  EXPECT_EQ(engine_.calls(EngineCall::pull), 2);
}

TEST_F(AgentReconcile, ADatasetMissingOnTheNodeFailsTheSessionSayingWhich) {
  auto session = desired("s1");
  session.datasets = {{"imagenet", "/srv/no-such-dataset-here"}};
  channel_.set_desired({session});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::failed)));
  EXPECT_EQ(channel_.observed("s1")->message,
            "dataset imagenet: /srv/no-such-dataset-here is not a directory on node node-1");
  EXPECT_EQ(engine_.calls(EngineCall::create), 0);
}

TEST_F(AgentReconcile, AStartThatFailsIsReportedAsFailed) {
  engine_.fail_next(EngineCall::start,
                    make_error(ErrorCode::internal, "port is already allocated"));
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::failed)));
  EXPECT_EQ(channel_.observed("s1")->message, "port is already allocated");
}

TEST_F(AgentReconcile, ACallHangingPastItsTimeoutHoldsUpOnlyItsOwnSession) {
  engine_.hang(EngineCall::ensure_volume);
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until([&] { return engine_.waiting(EngineCall::ensure_volume) == 1; }));
  ASSERT_TRUE(agent_->reconcile_once().ok()) << "the loop goes on while a worker waits";
  EXPECT_EQ(channel_.phase_of("s1"), ObservedPhase::starting);

  engine_.release(EngineCall::ensure_volume);  // the call gives up: the client's timeout
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::failed)));
  EXPECT_EQ(channel_.observed("s1")->message, "engine call timed out");
}

TEST_F(AgentReconcile, OtherSessionsStartWhileOneCallHangs) {
  engine_.hang(EngineCall::start);
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until([&] { return engine_.waiting(EngineCall::start) == 1; }));
  // A second session cannot start either while the engine hangs on every start...
  channel_.set_desired({desired("s1"), desired("s2")});
  ASSERT_TRUE(reconcile_until([&] { return engine_.waiting(EngineCall::start) == 2; }));
  // ...but once the engine answers again, the next one goes through.
  engine_.release(EngineCall::start);
  ASSERT_TRUE(reconcile_until(reported("s2", ObservedPhase::failed)));
  channel_.set_desired({desired("s3")});
  ASSERT_TRUE(reconcile_until(reported("s3", ObservedPhase::running)));
}

TEST_F(AgentReconcile, JupyterThatNeverAnswersFailsTheSessionAtTheReadyTimeout) {
  readiness_.silent = true;
  channel_.set_desired({desired("s1")});
  // The deadline is set before the first question, so the clock moves only after it.
  ASSERT_TRUE(reconcile_until([&] { return readiness_.asked > 0; }));
  clock_.advance(179'000);
  ASSERT_TRUE(agent_->reconcile_once().ok());
  EXPECT_EQ(channel_.phase_of("s1"), ObservedPhase::starting) << "still within the timeout";
  clock_.advance(2'000);
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::failed)));
  EXPECT_EQ(channel_.observed("s1")->message, "Jupyter did not answer within 180 s");
}

TEST_F(AgentReconcile, AFailedStartReportsTheEndOfWhatItsContainerPrintedAsText) {
  readiness_.silent = true;
  // More than a report carries, and bytes that are not UTF-8: the end, as valid text.
  engine_.log_text = std::string(20'000, 'x') + "\n\xff\xfe broken\nTraceback: jupyter failed\n";
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until([&] { return readiness_.asked > 0; }));
  clock_.advance(181'000);
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::failed)));
  std::string log = channel_.observed("s1")->log;
  EXPECT_LE(log.size(), kMaxStartLogBytes);
  EXPECT_TRUE(log.ends_with("\n\uFFFD\uFFFD broken\nTraceback: jupyter failed\n"))
      << log.substr(0, 80);
}

TEST_F(AgentReconcile, AContainerThatVanishesIsNoLongerReported) {
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  channel_.set_desired({});  // the server ended it once the report lacked it
  engine_.forget("s1");
  ASSERT_TRUE(agent_->reconcile_once().ok());
  EXPECT_EQ(channel_.observed("s1"), std::nullopt) << "absence is what tells the server";
  EXPECT_EQ(engine_.calls(EngineCall::remove), 0) << "nothing left to remove";
}

TEST_F(AgentReconcile, AfterAnEngineRestartTheSameContainerStartsAgainWithTodaysKeys) {
  auto session = desired("s1");
  session.authorized_keys = {"ssh-ed25519 AAAA first"};
  channel_.set_desired({session});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  session.authorized_keys = {"ssh-ed25519 BBBB today"};
  channel_.set_desired({session});
  readiness_.silent = true;  // Jupyter takes its time after the restart
  engine_.set_time(2'000'000);
  engine_.restart();

  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::restarting)));
  EXPECT_EQ(channel_.observed("s1")->stopped_at, 2'000'000) << "the engine's stop time";
  EXPECT_EQ(channel_.observed("s1")->message, "exit code 143");
  EXPECT_EQ(engine_.state_of("s1"), "running");
  const std::string path = std::string(agent::kAuthorizedKeysDirectory) + "/authorized_keys";
  EXPECT_EQ(engine_.file_of("s1", path), std::string("ssh-ed25519 BBBB today\n"))
      << "written before the start: the init takes the file over its first start's keys";

  readiness_.silent = false;
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  EXPECT_EQ(engine_.calls(EngineCall::create), 1) << "the same container, home and host key";
  EXPECT_EQ(engine_.calls(EngineCall::start), 2);
  EXPECT_EQ(engine_.calls(EngineCall::remove), 0);
}

TEST_F(AgentReconcile, AContainerThatKeepsStoppingFailsAtTheTimeItLastStopped) {
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  for (int stop = 1; stop <= 3; ++stop) {
    engine_.set_time(2'000'000 + stop);
    engine_.exit("s1", 1);
    ASSERT_TRUE(reconcile_until([&] {
      return engine_.calls(EngineCall::start) == stop + 1 &&
             channel_.phase_of("s1") == ObservedPhase::running;
    })) << "restart "
        << stop;
  }
  engine_.set_time(2'000'004);
  engine_.exit("s1", 137);
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::failed)));
  auto observed = channel_.observed("s1");
  EXPECT_EQ(observed->stopped_at, 2'000'004);
  EXPECT_EQ(observed->message,
            "the container stopped 4 times within 10 min (exit code 137); not restarted");
  EXPECT_EQ(engine_.calls(EngineCall::start), 4);

  // Another session's budget is its own, and one spent long ago is refilled.
  clock_.advance(11 * 60 * 1000);
  channel_.set_desired({desired("s1"), desired("s2")});
  ASSERT_TRUE(reconcile_until(reported("s2", ObservedPhase::running)));
  readiness_.silent = true;
  engine_.exit("s2", 0);
  ASSERT_TRUE(reconcile_until(reported("s2", ObservedPhase::restarting)));
}

TEST_F(AgentReconcile, ContainersNoLongerDesiredAreRemoved) {
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  channel_.set_desired({});
  ASSERT_TRUE(reconcile_until([&] { return !engine_.state_of("s1").has_value(); }));
  ASSERT_TRUE(agent_->reconcile_once().ok());
  EXPECT_EQ(channel_.observed("s1"), std::nullopt);
}

TEST_F(AgentReconcile, AContainerOfASessionTheServerDoesNotKnowIsLeftRunningAndReported) {
  auto session = desired("s1");
  session.gpu_indices = {0};
  channel_.set_desired({session});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  channel_.forget_everything();  // the server started on a new database
  for (int sync = 0; sync < 5; ++sync) ASSERT_TRUE(agent_->reconcile_once().ok());
  std::this_thread::sleep_for(50ms);  // a removal worker, had one started, would be done
  EXPECT_EQ(engine_.state_of("s1"), "running");
  EXPECT_EQ(engine_.calls(EngineCall::remove), 0);
  // Reported with what it holds, so that the server can fence it.
  auto observed = channel_.observed("s1");
  ASSERT_TRUE(observed.has_value());
  EXPECT_EQ(observed->user, "alice");
  EXPECT_EQ(observed->gpu_indices, std::vector<int>{0});
  EXPECT_EQ(observed->host_ports, (std::vector<int>{27000, 27001}));
  // And what an admin needs to adopt it: its image and the token its Jupyter takes.
  EXPECT_EQ(observed->image, "gpupool/session:test");
  EXPECT_EQ(observed->jupyter_token, "token");

  channel_.release_unknown("s1");  // an admin's decision
  ASSERT_TRUE(reconcile_until([&] { return !engine_.state_of("s1").has_value(); }));
}

TEST_F(AgentReconcile, ARemovalThatFailsIsRetriedAtTheNextSync) {
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  engine_.fail_next(EngineCall::remove, make_error(ErrorCode::unavailable, "engine busy"));
  channel_.set_desired({});
  ASSERT_TRUE(reconcile_until([&] { return !engine_.state_of("s1").has_value(); }));
  EXPECT_GE(engine_.calls(EngineCall::remove), 2);
}

TEST_F(AgentReconcile, AContainerLeftCreatedButNeverStartedIsReplaced) {
  ContainerSpec leftover;
  leftover.name = agent::container_name("s1");
  leftover.labels = {{agent::kSessionLabel, "s1"}, {agent::kNodeLabel, "node-1"}};
  engine_.add_leftover(leftover, "created");
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  EXPECT_GE(engine_.calls(EngineCall::remove), 1);
}

TEST_F(AgentReconcile, ContainersOfAnotherNodeOnTheSameEngineAreNotTouched) {
  ContainerSpec other;
  other.name = agent::container_name("elsewhere");
  other.labels = {{agent::kSessionLabel, "elsewhere"}, {agent::kNodeLabel, "node-2"}};
  engine_.add_leftover(other, "running");
  ASSERT_TRUE(agent_->reconcile_once().ok());
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(agent_->reconcile_once().ok());
  EXPECT_EQ(engine_.state_of("elsewhere"), "running");
  EXPECT_EQ(channel_.observed("elsewhere"), std::nullopt);
}

TEST_F(AgentReconcile, AnEngineThatDoesNotAnswerFailsTheSyncNotTheSessions) {
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  int syncs = channel_.syncs();
  engine_.fail_next(EngineCall::list, make_error(ErrorCode::unavailable, "engine socket refused"));
  auto status = agent_->reconcile_once();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "engine socket refused");
  EXPECT_EQ(channel_.syncs(), syncs) << "no half-seen report reaches the server";
  ASSERT_TRUE(agent_->reconcile_once().ok());
  EXPECT_EQ(channel_.phase_of("s1"), ObservedPhase::running);
}

TEST_F(AgentReconcile, EachSessionRunsOnANetworkOfItsOwnThatGoesWithIt) {
  channel_.set_desired({desired("s1"), desired("s2")});
  ASSERT_TRUE(reconcile_until([&] {
    return channel_.phase_of("s1") == ObservedPhase::running &&
           channel_.phase_of("s2") == ObservedPhase::running;
  }));
  auto networks = engine_.networks();
  ASSERT_EQ(networks.size(), 2u);
  const auto& first = networks.at(agent::session_network_name("s1"));
  const auto& second = networks.at(agent::session_network_name("s2"));
  EXPECT_EQ(engine_.spec_of("s1")->network, first.name);
  EXPECT_EQ(engine_.spec_of("s2")->network, second.name);
  EXPECT_FALSE(parse_ipv4_block(first.subnet)->overlaps(*parse_ipv4_block(second.subnet)));
  EXPECT_TRUE(
      parse_ipv4_block(agent::kDefaultSessionSubnets)->overlaps(*parse_ipv4_block(first.subnet)));
  EXPECT_EQ(first.bridge_name, agent::session_bridge_name("s1"));
  EXPECT_EQ(first.labels.at(agent::kNodeLabel), "node-1");
  EXPECT_GE(firewall_.installs, 2) << "the firewall is checked before every start";

  channel_.set_desired({desired("s2")});
  ASSERT_TRUE(reconcile_until([&] { return engine_.networks().size() == 1; }));
  EXPECT_TRUE(engine_.networks().contains(agent::session_network_name("s2")));
}

TEST_F(AgentReconcile, NoContainerStartsWhenTheFirewallCannotBeInstalled) {
  firewall_.broken = true;
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::failed)));
  EXPECT_EQ(channel_.observed("s1")->message, "iptables: permission denied");
  EXPECT_EQ(engine_.calls(EngineCall::create), 0);
  EXPECT_TRUE(engine_.networks().empty());
}

TEST_F(AgentReconcile, SubnetsOtherNetworksHoldAreSkipped) {
  engine_.add_foreign_network({"compose_default", "10.213.0.0/24", "br-compose", {}});
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  EXPECT_EQ(engine_.networks().at(agent::session_network_name("s1")).subnet, "10.213.1.0/28");
}

TEST_F(AgentReconcile, ASubnetTakenMeanwhileIsRetriedWithTheNextFreeOne) {
  // Another gpupool on the same engine takes the subnet between our list and our create.
  engine_.fail_next(EngineCall::create_network,
                    make_error(ErrorCode::conflict, "Pool overlaps with other one"));
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  EXPECT_EQ(engine_.calls(EngineCall::create_network), 2);
}

TEST_F(AgentReconcile, ASubnetTheEngineRefusesUnlistedIsNotTriedAgain) {
  // A network being removed elsewhere is no longer listed but still holds its subnet.
  engine_.fail_next(EngineCall::create_network,
                    make_error(ErrorCode::conflict, "Pool overlaps with other one"));
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  EXPECT_EQ(engine_.networks().at(agent::session_network_name("s1")).subnet, "10.213.0.16/28")
      << "the refused 10.213.0.0/28 was skipped, and the next one taken";
}

TEST_F(AgentReconcile, NetworksAPreviousRunLeftAreRemovedButNotAnotherNodes) {
  engine_.add_foreign_network({agent::session_network_name("old"),
                               "10.213.0.0/28",
                               "gp-old",
                               {{agent::kSessionLabel, "old"}, {agent::kNodeLabel, "node-1"}}});
  engine_.add_foreign_network({agent::session_network_name("theirs"),
                               "10.213.0.16/28",
                               "gp-theirs",
                               {{agent::kSessionLabel, "theirs"}, {agent::kNodeLabel, "node-2"}}});
  ASSERT_TRUE(agent_->reconcile_once().ok());
  auto networks = engine_.networks();
  EXPECT_FALSE(networks.contains(agent::session_network_name("old")));
  EXPECT_TRUE(networks.contains(agent::session_network_name("theirs")));
}

TEST_F(AgentReconcile, AFailedStartsNetworkGoesWhenTheServerForgetsTheSession) {
  engine_.fail_next(EngineCall::create, make_error(ErrorCode::internal, "no space left on device"));
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::failed)));
  EXPECT_EQ(engine_.networks().size(), 1u);
  channel_.set_desired({});
  ASSERT_TRUE(reconcile_until([&] { return engine_.networks().empty(); }));
}

TEST_F(AgentReconcile, SshKeyChangesReachTheRunningContainerAtTheNextSync) {
  auto session = desired("s1");
  session.authorized_keys = {"ssh-ed25519 AAAA old"};
  channel_.set_desired({session});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  ASSERT_TRUE(agent_->reconcile_once().ok());
  EXPECT_EQ(engine_.calls(EngineCall::write_file), 0) << "the init wrote the keys it was given";

  session.authorized_keys = {"ssh-ed25519 BBBB new"};
  channel_.set_desired({session});
  const std::string path = std::string(agent::kAuthorizedKeysDirectory) + "/authorized_keys";
  ASSERT_TRUE(reconcile_until(
      [&] { return engine_.file_of("s1", path) == std::string("ssh-ed25519 BBBB new\n"); }));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(agent_->reconcile_once().ok());
  EXPECT_EQ(engine_.calls(EngineCall::write_file), 1) << "written once, not at every sync";
  EXPECT_EQ(engine_.calls(EngineCall::create), 1) << "no restart";
}

TEST_F(AgentReconcile, AKeyUpdateThatFailsIsRetried) {
  auto session = desired("s1");
  channel_.set_desired({session});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  engine_.fail_next(EngineCall::write_file, make_error(ErrorCode::unavailable, "engine busy"));
  session.authorized_keys = {"ssh-ed25519 CCCC added"};
  channel_.set_desired({session});
  const std::string path = std::string(agent::kAuthorizedKeysDirectory) + "/authorized_keys";
  ASSERT_TRUE(reconcile_until([&] { return engine_.file_of("s1", path).has_value(); }));
  EXPECT_EQ(engine_.calls(EngineCall::write_file), 2);
}

TEST_F(AgentReconcile, AnUnreachableServerLeavesContainersAsTheyAre) {
  channel_.set_desired({desired("s1")});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  auto synced_at = agent_->last_successful_sync_millis();
  clock_.advance(5'000);
  channel_.fail_next(make_error(ErrorCode::unavailable, "connection refused"));
  EXPECT_FALSE(agent_->reconcile_once().ok());
  EXPECT_EQ(engine_.state_of("s1"), "running");
  EXPECT_EQ(agent_->last_successful_sync_millis(), synced_at);
  ASSERT_TRUE(agent_->reconcile_once().ok());
  EXPECT_EQ(agent_->last_successful_sync_millis(), synced_at + 5'000);
}

}  // namespace
}  // namespace gpupool::testing

namespace gpupool::testing {
namespace {

TEST_F(AgentReconcile, ReportsARunningSessionsUseOnceItsCpuRateIsKnown) {
  DesiredSession session = desired("s1");
  session.gpu_indices = {0};
  channel_.set_desired({session});
  ASSERT_TRUE(reconcile_until(reported("s1", ObservedPhase::running)));
  ASSERT_TRUE(agent_->reconcile_once().ok());  // now watched: running and ready
  {
    std::lock_guard lock(activity_.mutex);
    activity_.samples["s1"] = {1'000'000'000, agent::JupyterUse{2, 1, 1, clock_.now() - 4000}, 1};
  }
  agent_->measure_activity();
  ASSERT_TRUE(agent_->reconcile_once().ok());
  EXPECT_FALSE(channel_.observed("s1")->activity.has_value()) << "one reading gives no CPU rate";

  clock_.advance(2000);
  {
    std::lock_guard lock(activity_.mutex);
    activity_.samples["s1"].cpu_nanos = 4'000'000'000;
    EXPECT_FALSE(activity_.watched_containers["s1"].empty());
  }
  agent_->measure_activity();
  ASSERT_TRUE(agent_->reconcile_once().ok());
  auto activity = channel_.observed("s1")->activity;
  ASSERT_TRUE(activity.has_value());
  EXPECT_DOUBLE_EQ(*activity->cpu_cores, 1.5);  // 3 s of CPU in 2 s
  EXPECT_EQ(activity->kernels, 2);
  EXPECT_EQ(activity->busy_kernels, 1);
  EXPECT_EQ(activity->terminals, 1);
  EXPECT_EQ(activity->jupyter_quiet_millis, 6000);
  EXPECT_EQ(activity->ssh_connections, 1);
  EXPECT_EQ(activity->gpu_utilization_percent, 0) << "its whole GPU, idle";

  // Gone from the desired state: no longer measured.
  channel_.set_desired({});
  ASSERT_TRUE(reconcile_until([&] { return !channel_.observed("s1").has_value(); }));
  agent_->measure_activity();
}

}  // namespace
}  // namespace gpupool::testing
