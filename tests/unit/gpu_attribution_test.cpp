#include "agent/gpu_attribution.hpp"

#include <gtest/gtest.h>

#include "agent/session_container.hpp"

namespace gpupool::agent {
namespace {

const std::string kIdA(64, 'a');
const std::string kIdB = std::string(63, '0') + "b";

TEST(GpuAttribution, FindsTheContainerInEachCgroupLayout) {
  EXPECT_EQ(container_id_of_cgroup("0::/system.slice/docker-" + kIdA + ".scope\n"), kIdA);
  EXPECT_EQ(container_id_of_cgroup("12:memory:/docker/" + kIdB + "\n11:cpu:/docker/" + kIdB), kIdB);
  EXPECT_EQ(container_id_of_cgroup("0::/machine.slice/libpod-" + kIdA + ".scope/container"), kIdA);
  EXPECT_EQ(container_id_of_cgroup("0::/user.slice/user-1000.slice/session-3.scope\n"), "");
  EXPECT_EQ(container_id_of_cgroup("0::/docker/" + kIdA + "f\n"), "") << "65 hex digits: no id";
  EXPECT_EQ(container_id_of_cgroup(""), "");
}

TEST(GpuAttribution, SumsEachSessionsProcessesAndDropsTheRest) {
  std::vector<ContainerInfo> containers = {
      {kIdA, "gpupool-s1", "image", {{kSessionLabel, "s1"}}, "running"},
      {kIdB, "gpupool-s2", "image", {{kSessionLabel, "s2"}}, "running"},
  };
  GpuReading reading;
  reading.processes = {{100, 1000, 30},
                       {101, 500, 90},
                       {200, 2048, 10},
                       {300, 4096, 50},
                       {400, std::nullopt, std::nullopt}};
  std::vector<GpuReading> readings = {reading};
  attribute_gpu_processes(readings, containers, [](int pid) -> std::string {
    if (pid == 100 || pid == 101) return "0::/system.slice/docker-" + kIdA + ".scope\n";
    if (pid == 200 || pid == 400) return "0::/docker/" + kIdB + "\n";
    return "0::/init.scope\n";  // 300: a process on the host, not a session's
  });
  EXPECT_TRUE(readings[0].processes.empty()) << "host pids stay on the node";
  ASSERT_EQ(readings[0].sessions.size(), 2u);
  EXPECT_EQ(readings[0].sessions[0].session_id, "s1");
  EXPECT_EQ(readings[0].sessions[0].memory_used_mb, 1500);
  EXPECT_EQ(readings[0].sessions[0].utilization_percent, 100) << "30 + 90, at most the GPU";
  EXPECT_EQ(readings[0].sessions[1].session_id, "s2");
  EXPECT_EQ(readings[0].sessions[1].memory_used_mb, 2048);
  EXPECT_EQ(readings[0].sessions[1].utilization_percent, 10);
}

}  // namespace
}  // namespace gpupool::agent
