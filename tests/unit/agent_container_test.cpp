#include <gtest/gtest.h>

#include <algorithm>

#include "agent/session_container.hpp"
#include "engine/docker_api/container_status.hpp"
#include "engine/docker_api/create_body.hpp"
#include "gpu/gpu_probe.hpp"

namespace gpupool::agent {
namespace {

DesiredSession desired() {
  DesiredSession session;
  session.session_id = "sabc";
  session.username = "alice";
  session.uid = 20001;
  session.image_reference = "gpupool/session:test";
  session.gpu_indices = {1};
  session.gpu_uuids = {"GPU-1"};
  session.jupyter_port = 30010;
  session.ssh_port = 30011;
  session.jupyter_token = "tok";
  session.authorized_keys = {"ssh-ed25519 AAAA one", "ssh-ed25519 BBBB two"};
  session.cpus = 2;
  session.memory_mb = 4096;
  return session;
}

bool has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

TEST(SessionContainer, FollowsTheContainerContract) {
  auto spec = make_session_container(desired(), {"node-1", "", GpuAttachment::simulated});
  EXPECT_EQ(spec.name, "gpupool-sabc");
  EXPECT_EQ(spec.labels.at(kSessionLabel), "sabc");
  EXPECT_EQ(spec.labels.at(kUserLabel), "alice");
  EXPECT_EQ(spec.labels.at(kNodeLabel), "node-1");
  EXPECT_EQ(spec.cap_add,
            (std::vector<std::string>{"CHOWN", "SETUID", "SETGID", "DAC_OVERRIDE", "FOWNER"}));
  EXPECT_EQ(spec.memory_bytes, 4096LL * 1024 * 1024);
  EXPECT_EQ(spec.nano_cpus, 2'000'000'000LL);
  EXPECT_GT(spec.pids_limit, 0);
  ASSERT_EQ(spec.mounts.size(), 1u);
  EXPECT_EQ(spec.mounts[0].volume, "gpupool-home-alice");
  EXPECT_EQ(spec.mounts[0].target, "/home/alice");
  EXPECT_TRUE(has(spec.env, "NVIDIA_VISIBLE_DEVICES=GPU-1"));
  EXPECT_TRUE(has(spec.env, "GPUPOOL_AUTHORIZED_KEYS=ssh-ed25519 AAAA one\nssh-ed25519 BBBB two"));
  EXPECT_TRUE(spec.gpu_uuids.empty()) << "simulated GPUs must not be requested from the engine";
  EXPECT_EQ(spec.ports[0].host_port, 30010);
  EXPECT_EQ(spec.ports[1].host_port, 30011);
}

TEST(SessionContainer, RequestsRealGpusFromTheEngine) {
  auto spec = make_session_container(desired(), {"node-1", "", GpuAttachment::nvidia_driver});
  EXPECT_EQ(spec.gpu_uuids, (std::vector<std::string>{"GPU-1"}));
}

TEST(SessionContainer, RequestsRealGpusByCdiNameWithNothingForAToolkitHook) {
  auto spec = make_session_container(desired(), {"node-1", "", GpuAttachment::cdi});
  EXPECT_EQ(spec.cdi_devices, (std::vector<std::string>{"nvidia.com/gpu=GPU-1"}));
  EXPECT_TRUE(spec.gpu_uuids.empty()) << "not through the nvidia driver as well";
  EXPECT_TRUE(has(spec.env, "NVIDIA_VISIBLE_DEVICES=void"))
      << "the image's ENV must not make a legacy toolkit hook add GPUs beside the spec's";
  auto body = docker_api::create_body(spec);
  EXPECT_EQ(body["HostConfig"]["DeviceRequests"],
            nlohmann::json::parse(R"([{"Driver": "cdi", "DeviceIDs": ["nvidia.com/gpu=GPU-1"]}])"));
}

TEST(SessionContainer, OnlyTheAllocatedGpusWithComputeAndUtility) {
  auto spec = make_session_container(desired(), {"node-1", "", GpuAttachment::nvidia_driver});
  EXPECT_TRUE(has(spec.env, "NVIDIA_VISIBLE_DEVICES=GPU-1"));
  EXPECT_TRUE(has(spec.env, "NVIDIA_DRIVER_CAPABILITIES=compute,utility"));
  auto none = desired();
  none.gpu_uuids.clear();
  none.gpu_indices.clear();
  EXPECT_TRUE(has(make_session_container(none, {"node-1", "", GpuAttachment::nvidia_driver}).env,
                  "NVIDIA_VISIBLE_DEVICES=void"));
}

TEST(SessionContainer, AShareGetsTheGpuMemoryCapMountedReadOnly) {
  ContainerSettings settings{"node-1", "", GpuAttachment::nvidia_driver};
  settings.gpu_cap_library = "/opt/gpupool/libgpupool_gpu_cap.so";
  auto whole = make_session_container(desired(), settings);
  EXPECT_EQ(whole.mounts.size(), 1u) << "whole GPUs need no cap";
  auto share = desired();
  share.gpu_memory_mb = 10240;
  auto spec = make_session_container(share, settings);
  ASSERT_EQ(spec.mounts.size(), 2u);
  EXPECT_EQ(spec.mounts[1].host_path, "/opt/gpupool/libgpupool_gpu_cap.so");
  EXPECT_EQ(spec.mounts[1].target, kGpuCapLibraryPath);
  EXPECT_TRUE(spec.mounts[1].read_only);
  EXPECT_TRUE(has(spec.env, "GPUPOOL_GPU_MEMORY_LIMIT_MB=10240"));
  EXPECT_TRUE(has(spec.env, std::string("GPUPOOL_GPU_CAP=") + kGpuCapLibraryPath));
  const auto& script = session_init_script();
  for (const char* line : {"> /etc/ld.so.preload", "$etc/gpu-cap.conf",
                           "grep -qF \"$GPUPOOL_GPU_CAP\" /proc/self/maps"}) {
    EXPECT_NE(script.find(line), std::string::npos) << line;
  }
}

TEST(SessionContainer, InitScriptHardensSshAndDropsToTheUser) {
  const auto& script = session_init_script();
  for (const char* line :
       {"PermitRootLogin no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "UsePAM no", "AllowUsers $user", "setpriv --reuid=\"$uid\"", "--clear-groups",
        "--NotebookApp.base_url=\"/s/$GPUPOOL_SESSION/\"", "etc=/etc/gpupool",
        "AuthorizedKeysFile $etc/authorized_keys", "PermitOpen localhost:* 127.0.0.1:*"}) {
    EXPECT_NE(script.find(line), std::string::npos) << line;
  }
  EXPECT_EQ(std::string(kAuthorizedKeysDirectory), "/etc/gpupool") << "where the script puts them";
  EXPECT_EQ(script.find("NotebookApp.token="), std::string::npos) << "no token on a command line";
  EXPECT_EQ(script.find("$home/"), std::string::npos) << "root writes nothing inside the home";
}

TEST(DockerCreateBody, DropsAllCapabilitiesAndForbidsNewPrivileges) {
  auto body = docker_api::create_body(
      make_session_container(desired(), {"node-1", "127.0.0.1", GpuAttachment::nvidia_driver}));
  const auto& host = body["HostConfig"];
  EXPECT_EQ(host["CapDrop"], nlohmann::json::array({"ALL"}));
  EXPECT_EQ(host["SecurityOpt"], nlohmann::json::array({"no-new-privileges"}));
  EXPECT_EQ(host["Privileged"], false);
  EXPECT_EQ(host["Init"], true);
  EXPECT_EQ(host["Memory"], host["MemorySwap"]);
  EXPECT_EQ(host["PortBindings"]["8888/tcp"][0]["HostPort"], "30010");
  EXPECT_EQ(host["PortBindings"]["2222/tcp"][0]["HostIp"], "127.0.0.1");
  EXPECT_EQ(host["Mounts"][0]["Type"], "volume");
  EXPECT_EQ(host["DeviceRequests"][0]["DeviceIDs"][0], "GPU-1");
  EXPECT_FALSE(host.contains("Binds")) << "no host paths, and never the engine socket";
  EXPECT_EQ(body["Labels"]["io.gpupool.session"], "sabc");
  // The container's output cannot fill the disk: 2 files of 10 MiB, rotated.
  EXPECT_EQ(host["LogConfig"]["Type"], "json-file");
  EXPECT_EQ(host["LogConfig"]["Config"]["max-size"], "10485760");
  EXPECT_EQ(host["LogConfig"]["Config"]["max-file"], "2");
  // What it holds, for a server that lost its database (unknown_containers.hpp).
  EXPECT_EQ(body["Labels"]["io.gpupool.gpus"], "1");
  EXPECT_EQ(body["Labels"]["io.gpupool.ports"], "30010,30011");
  EXPECT_FALSE(host.contains("StorageOpt")) << "unbounded unless asked: most drivers refuse it";

  ContainerSettings bounded{"node-1", "127.0.0.1", GpuAttachment::nvidia_driver};
  bounded.disk_bytes = std::int64_t{2} << 30;
  auto with_bound = docker_api::create_body(make_session_container(desired(), bounded));
  EXPECT_EQ(with_bound["HostConfig"]["StorageOpt"]["size"], "2147483648");
}

TEST(SessionContainer, HomeOnASharedFilesystemIsABindMountOfTheUsersDirectory) {
  ContainerSettings shared{"node-1", "127.0.0.1", GpuAttachment::nvidia_driver};
  shared.home_root = "/srv/homes";
  auto spec = make_session_container(desired(), shared);
  ASSERT_EQ(spec.mounts.size(), 1u);
  EXPECT_EQ(spec.mounts[0].host_path, "/srv/homes/alice");
  EXPECT_EQ(spec.mounts[0].target, "/home/alice");
  EXPECT_TRUE(spec.mounts[0].volume.empty());

  auto body = docker_api::create_body(spec);
  const auto& mount = body["HostConfig"]["Mounts"][0];
  EXPECT_EQ(mount["Type"], "bind");
  EXPECT_EQ(mount["Source"], "/srv/homes/alice");
  EXPECT_EQ(mount["Target"], "/home/alice");
  EXPECT_EQ(mount["ReadOnly"], false);
  EXPECT_EQ(mount["BindOptions"]["CreateMountpoint"], false) << "the agent makes it, as the user's";
}

TEST(DockerContainerStatus, ReadsTheEnginesTimesAndHowItEnded) {
  auto status = docker_api::container_status(nlohmann::json::parse(R"({
      "Status": "exited", "Running": false, "ExitCode": 137, "OOMKilled": true,
      "StartedAt": "2026-12-03T05:00:00.123456789Z",
      "FinishedAt": "2026-12-03T05:10:00.5Z"})"));
  EXPECT_EQ(status.state, "exited");
  EXPECT_EQ(status.started_at, *parse_rfc3339("2026-12-03T05:00:00.123Z"));
  EXPECT_EQ(status.finished_at, *parse_rfc3339("2026-12-03T05:10:00.500Z"));
  EXPECT_EQ(agent::stop_description(status), "exit code 137, out of memory");

  // Never stopped: the engine writes the zero time. Junk reads as unknown, never as a throw.
  auto running = docker_api::container_status(nlohmann::json::parse(R"({
      "Status": "running", "StartedAt": "2026-12-03T05:00:00Z",
      "FinishedAt": "0001-01-01T00:00:00Z", "ExitCode": "x"})"));
  EXPECT_TRUE(running.running());
  EXPECT_EQ(running.finished_at, 0);
  EXPECT_EQ(running.exit_code, 0);
  EXPECT_EQ(docker_api::container_status(nlohmann::json::parse("[1]")).state, "");
}

TEST(SimulatedGpus, ParseCountsModelsAndMemory) {
  auto probe = make_simulated_gpu_probe("2xA100-80GB,1xT4-16GB");
  ASSERT_TRUE(probe.ok());
  auto inventory = (*probe)->discover();
  ASSERT_TRUE(inventory.ok());
  ASSERT_EQ(inventory->gpus.size(), 3u);
  EXPECT_TRUE(inventory->simulated);
  EXPECT_EQ(inventory->gpus[1].model, "A100-80GB");
  EXPECT_EQ(inventory->gpus[1].memory_mb, 80 * 1024);
  EXPECT_EQ(inventory->gpus[2].index, 2);
  EXPECT_EQ(inventory->gpus[2].memory_mb, 16 * 1024);
  EXPECT_NE(inventory->gpus[0].uuid, inventory->gpus[1].uuid);
}

TEST(SimulatedGpus, ReportAPcieServerTopology) {
  auto inventory = (*make_simulated_gpu_probe("8xA100-80GB"))->discover();
  const auto& gpus = inventory->gpus;
  ASSERT_EQ(gpus[0].links.size(), 8u);
  EXPECT_EQ(gpus[0].links[0], GpuLink::same);
  EXPECT_EQ(gpus[0].links[1], GpuLink::nvlink);
  EXPECT_EQ(gpus[0].links[2], GpuLink::numa_node);
  EXPECT_EQ(gpus[0].links[4], GpuLink::system);
  EXPECT_EQ(gpus[5].links[4], GpuLink::nvlink);
}

TEST(SimulatedGpus, RefuseBadSpecs) {
  for (const char* bad : {"", "A100", "0xA100", "x", "4x", "4xA 100", "1000xA100", "4xA100,"}) {
    EXPECT_FALSE(make_simulated_gpu_probe(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace gpupool::agent
