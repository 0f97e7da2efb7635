// The agent against the real container engine: a desired session becomes a running
// container whose Jupyter answers, and an undesired one is removed. Needs a Docker-API
// engine and the default session image; skipped without them unless GPUPOOL_REQUIRE_ENGINE=1.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

#include "agent/agent.hpp"
#include "core/command.hpp"
#include "core/random.hpp"
#include "engine/container_engine.hpp"
#include "gpu/gpu_probe.hpp"
#include "scripted_channel.hpp"

namespace gpupool {
namespace {

using namespace std::chrono_literals;

constexpr const char* kImage = "gpupool/session:pytorch1.13-cpu-debian12-runtime";

// A probe whose GPUs are there but whose telemetry cannot be read (a driver hiccup).
class UnreadableTelemetryProbe final : public GpuProbe {
 public:
  explicit UnreadableTelemetryProbe(GpuProbe& inner) : inner_(inner) {}
  Result<GpuInventory> discover() override { return inner_.discover(); }
  Result<std::vector<GpuReading>> read_telemetry() override {
    return make_error(ErrorCode::unavailable, "NVML: the GPU is lost");
  }

 private:
  GpuProbe& inner_;
};

// A probe whose GPU 0 runs the processes a test names, as NVML would list them by host pid.
class ProcessesProbe final : public GpuProbe {
 public:
  explicit ProcessesProbe(GpuProbe& inner) : inner_(inner) {}
  Result<GpuInventory> discover() override { return inner_.discover(); }
  Result<std::vector<GpuReading>> read_telemetry() override {
    auto readings = inner_.read_telemetry();
    std::lock_guard lock(mutex_);
    if (readings && !readings->empty()) readings->front().processes = processes_;
    return readings;
  }
  void set(std::vector<GpuProcessUse> processes) {
    std::lock_guard lock(mutex_);
    processes_ = std::move(processes);
  }

 private:
  GpuProbe& inner_;
  std::mutex mutex_;
  std::vector<GpuProcessUse> processes_;
};

class RealEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    init_crypto();
    auto address = detect_engine_address();
    bool required = std::getenv("GPUPOOL_REQUIRE_ENGINE") != nullptr;
    if (!address) {
      if (required) FAIL() << address.error().message;
      GTEST_SKIP() << address.error().message;
    }
    engine_ = std::move(*make_docker_api_engine(*address));
    activity_ = std::make_unique<agent::LiveActivitySensor>(*engine_, "127.0.0.1");
    auto present = engine_->image_present(kImage);
    ASSERT_TRUE(present.ok()) << present.error().message;
    if (!*present) {
      if (required) FAIL() << kImage << " is missing; run images/debian-jupyter/build.sh";
      GTEST_SKIP() << kImage << " is missing";
    }
    node_ = "it-" + random_hex(4);
    std::random_device seed;
    // Below Linux's ephemeral range (32768+), so no outgoing connection holds the port.
    port_ = 28000 + 2 * static_cast<int>(seed() % 1000);
  }

  void TearDown() override {
    if (!engine_) return;
    auto left = engine_->list_containers(std::string(agent::kNodeLabel) + "=" + node_);
    if (left) {
      for (const auto& container : *left) (void)engine_->remove_container(container.id);
    }
  }

  DesiredSession desired(const std::string& id) {
    DesiredSession session;
    session.session_id = id;
    session.username = "it" + random_hex(3);
    session.uid = 29999;
    session.image_reference = kImage;
    session.jupyter_port = port_;
    session.ssh_port = port_ + 1;
    session.jupyter_token = random_hex(16);
    session.cpus = 1;
    session.memory_mb = 2048;
    return session;
  }

  std::unique_ptr<agent::Agent> make_agent(agent::SyncChannel& channel, GpuProbe& probe) {
    agent::AgentSettings settings;
    settings.node.name = node_;
    settings.container.node_name = node_;
    settings.sync_interval = 200ms;
    settings.ready_timeout = 120s;
    return std::make_unique<agent::Agent>(settings, channel, *engine_, firewall_, probe, readiness_,
                                          *activity_, clock_);
  }

  std::unique_ptr<agent::Agent> start_agent(agent::SyncChannel& channel) {
    auto started = make_agent(channel, *probe_);
    started->start();
    return started;
  }

  SystemClock clock_;
  agent::HttpReadinessCheck readiness_{"127.0.0.1"};
  agent::IptablesFirewall firewall_{agent::FirewallPolicy{}};
  std::unique_ptr<ContainerEngine> engine_;
  std::unique_ptr<agent::LiveActivitySensor> activity_;
  std::unique_ptr<GpuProbe> probe_ = std::move(*make_simulated_gpu_probe("1xA100-80GB"));
  std::string node_;
  int port_ = 0;
};

TEST_F(RealEngine, AnswersVersionAndImageQueries) {
  auto identity = engine_->identify();
  ASSERT_TRUE(identity.ok()) << identity.error().message;
  EXPECT_FALSE(identity->version.empty());
  EXPECT_EQ(identity->api_version.substr(0, 2), "1.") << identity->describe();
  EXPECT_FALSE(*engine_->image_present("gpupool/no-such-image:none"));
  EXPECT_EQ(engine_->inspect_container("gpupool-no-such-container").error().code,
            ErrorCode::not_found);
  EXPECT_TRUE(engine_->remove_container("gpupool-no-such-container").ok())
      << "removing twice is fine";
}

TEST_F(RealEngine, AgentStartsADesiredSessionAndRemovesItWhenNoLongerDesired) {
  testing::ScriptedChannel channel;
  auto agent = start_agent(channel);

  std::string id = "sit" + random_hex(4);
  channel.set_desired({desired(id)});
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (channel.phase_of(id) != ObservedPhase::running &&
         std::chrono::steady_clock::now() < deadline) {
    ASSERT_NE(channel.phase_of(id), ObservedPhase::failed);
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(channel.phase_of(id), ObservedPhase::running);
  EXPECT_TRUE(channel.observed(id)->ssh_host_key.starts_with("ssh-ed25519 AAAA"))
      << "the agent reads the per-container host key";
  auto containers = engine_->list_containers(std::string(agent::kNodeLabel) + "=" + node_);
  ASSERT_EQ(containers->size(), 1u);
  EXPECT_EQ(containers->front().labels.at(agent::kSessionLabel), id);

  channel.set_desired({});
  deadline = std::chrono::steady_clock::now() + 60s;
  while (channel.phase_of(id).has_value() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_FALSE(channel.phase_of(id).has_value());
  EXPECT_TRUE(engine_->list_containers(std::string(agent::kNodeLabel) + "=" + node_)->empty());
  agent->stop();
}

TEST_F(RealEngine, EachSyncCarriesTheGpusReadings) {
  testing::ScriptedChannel channel;
  auto agent = make_agent(channel, *probe_);
  ASSERT_TRUE(agent->reconcile_once().ok());
  auto readings = channel.gpu_readings();
  ASSERT_EQ(readings.size(), 1u);
  EXPECT_EQ(readings[0].index, 0);
  EXPECT_TRUE(readings[0].temperature_celsius.has_value());
}

TEST_F(RealEngine, AGpuProcessInASessionsContainerCountsAsThatSessionsUse) {
  testing::ScriptedChannel channel;
  ProcessesProbe probe(*probe_);
  auto agent = make_agent(channel, probe);
  agent->start();
  std::string id = "sgp" + random_hex(4);
  channel.set_desired({desired(id)});
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (channel.phase_of(id) != ObservedPhase::running &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(channel.phase_of(id), ObservedPhase::running);
  auto inspected = run_command({"docker", "inspect", "-f", "{{.State.Pid}}", "gpupool-" + id});
  ASSERT_TRUE(inspected && inspected->exit_code == 0);
  int container_pid = std::stoi(inspected->output);
  // The container's init and this test (a process on the host, in no session).
  probe.set({{container_pid, 3000, 40}, {static_cast<int>(getpid()), 9000, 90}});
  std::vector<SessionGpuUse> sessions;
  deadline = std::chrono::steady_clock::now() + 30s;
  while (sessions.empty() && std::chrono::steady_clock::now() < deadline) {
    auto readings = channel.gpu_readings();
    if (!readings.empty()) sessions = readings[0].sessions;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].session_id, id);
  EXPECT_EQ(sessions[0].memory_used_mb, 3000);
  EXPECT_EQ(sessions[0].utilization_percent, 40);
  EXPECT_TRUE(channel.gpu_readings()[0].processes.empty());
  agent->stop();
}

TEST_F(RealEngine, UnreadableTelemetryDoesNotStopTheSync) {
  testing::ScriptedChannel channel;
  UnreadableTelemetryProbe probe(*probe_);
  auto agent = make_agent(channel, probe);
  ASSERT_TRUE(agent->reconcile_once().ok()) << "sessions go on without figures";
  EXPECT_TRUE(channel.gpu_readings().empty());
}

TEST_F(RealEngine, AgentReportsAContainerThatCannotStart) {
  testing::ScriptedChannel channel;
  auto agent = start_agent(channel);
  auto session = desired("sbad" + random_hex(4));
  session.image_reference = "gpupool/no-such-image:none";
  channel.set_desired({session});
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (channel.phase_of(session.session_id) != ObservedPhase::failed &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(channel.phase_of(session.session_id), ObservedPhase::failed);
  agent->stop();
}

}  // namespace
}  // namespace gpupool
