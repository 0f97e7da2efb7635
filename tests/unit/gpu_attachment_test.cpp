#include "agent/gpu_attachment.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/docker_api/engine_identity.hpp"

namespace gpupool::agent {
namespace {

using nlohmann::json;

// What the engines answered to GET /version, cut to what is read.
const json kDocker20 = json::parse(R"({"Components": [{"Name": "Engine", "Version": "20.10.24"}],
                                       "Version": "20.10.24", "ApiVersion": "1.41"})");
const json kDocker28 = json::parse(R"({"Components": [{"Name": "Engine", "Version": "28.2.2"}],
                                       "Version": "28.2.2", "ApiVersion": "1.50"})");
const json kPodman43 = json::parse(R"({"Components": [{"Name": "Podman Engine",
                                       "Version": "4.3.1"}, {"Name": "Conmon"}],
                                       "Version": "4.3.1", "ApiVersion": "1.41"})");
const json kPodman54 = json::parse(R"({"Components": [{"Name": "Podman Engine",
                                       "Version": "5.4.2"}], "Version": "5.4.2",
                                       "ApiVersion": "1.41"})");

TEST(EngineIdentity, TellsDockerFromPodmanAndWhetherCdiRequestsReachTheContainer) {
  auto docker =
      docker_api::engine_identity(kDocker20, json::parse(R"({"ServerVersion": "20.10.24"})"));
  EXPECT_EQ(docker.describe(), "Docker 20.10.24 (API 1.41)");
  EXPECT_TRUE(docker.cdi_spec_dirs.empty());
  EXPECT_FALSE(docker.cdi_devices.has_value()) << "Docker before 28.2 lists no devices";

  auto with_cdi = docker_api::engine_identity(kDocker28, json::parse(R"({
      "CDISpecDirs": ["/etc/cdi", "/var/run/cdi"],
      "DiscoveredDevices": [{"Source": "cdi", "ID": "nvidia.com/gpu=GPU-a"},
                            {"Source": "other", "ID": "x"}, {"Source": "cdi"}]})"));
  EXPECT_EQ(with_cdi.cdi_spec_dirs, (std::vector<std::string>{"/etc/cdi", "/var/run/cdi"}));
  EXPECT_EQ(with_cdi.cdi_devices, (std::vector<std::string>{"nvidia.com/gpu=GPU-a"}));

  // Podman 4.3 reports no CDI and drops CDI requests (seen: the container starts without the
  // device); 5.4 honours them and reads its own default directories.
  auto old_podman = docker_api::engine_identity(kPodman43, json::parse(R"({"CDISpecDirs": null})"));
  EXPECT_TRUE(old_podman.podman());
  EXPECT_EQ(old_podman.describe(), "Podman 4.3.1 (API 1.41)");
  EXPECT_TRUE(old_podman.cdi_spec_dirs.empty());
  auto podman = docker_api::engine_identity(kPodman54, json());
  EXPECT_EQ(podman.cdi_spec_dirs, (std::vector<std::string>{"/etc/cdi", "/var/run/cdi"}));

  auto garbled = docker_api::engine_identity(json::parse(R"({"Components": 3, "Version": 7})"),
                                             json::parse(R"({"CDISpecDirs": "x",
                                                             "DiscoveredDevices": {}})"));
  EXPECT_EQ(garbled.describe(), "Docker unknown (API ?)");
  EXPECT_TRUE(garbled.cdi_spec_dirs.empty());
  EXPECT_EQ(garbled.cdi_devices, std::vector<std::string>{});
}

// As `nvidia-ctk cdi generate --device-name-strategy=uuid` writes it (keys sorted, the list's
// dashes at the parent's indentation), shortened.
constexpr const char* kGeneratedSpec = R"(---
cdiVersion: 0.5.0
containerEdits:
  env:
  - NVIDIA_VISIBLE_DEVICES=void
  hooks:
  - args:
    - nvidia-ctk
    hookName: createContainer
    path: /usr/bin/nvidia-ctk
devices:
- containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
    mounts:
    - containerPath: /dev/dri/card1
  name: GPU-4cf8db2d-06c0-7d70-1a51-e59b25b2c16c
- containerEdits:
    deviceNodes:
    - path: /dev/nvidia1
  name: "GPU-0b5e9c2b"
- name: all
  containerEdits: {}
kind: nvidia.com/gpu
)";

TEST(CdiSpecs, ReadsTheDeviceNamesOfGeneratedAndHandWrittenSpecs) {
  EXPECT_EQ(cdi_spec_devices(kGeneratedSpec),
            (std::vector<std::string>{"nvidia.com/gpu=GPU-4cf8db2d-06c0-7d70-1a51-e59b25b2c16c",
                                      "nvidia.com/gpu=GPU-0b5e9c2b", "nvidia.com/gpu=all"}));
  // Indented list, kind first, comments.
  EXPECT_EQ(cdi_spec_devices("kind: 'example.com/gpu'\n# two\ndevices:\n  - name: a\n    "
                             "containerEdits:\n      env: [name: no]\n  - containerEdits: {}\n"
                             "    name: b\ncdiVersion: 0.6.0\n"),
            (std::vector<std::string>{"example.com/gpu=a", "example.com/gpu=b"}));
  EXPECT_EQ(cdi_spec_devices(R"({"cdiVersion": "0.5.0", "kind": "nvidia.com/gpu",
                                 "devices": [{"name": "GPU-x", "containerEdits": {}}, {"name": 3}]})"),
            (std::vector<std::string>{"nvidia.com/gpu=GPU-x"}));
  EXPECT_TRUE(cdi_spec_devices("devices:\n- name: a\n").empty()) << "no kind, no names";
  EXPECT_TRUE(cdi_spec_devices("{ not json").empty());
  EXPECT_TRUE(cdi_spec_devices("").empty());
}

TEST(CdiSpecs, ReadsEverySpecFileOfTheDirectories) {
  auto dir = std::filesystem::temp_directory_path() / "gpupool-cdi-test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "nvidia.yaml") << kGeneratedSpec;
  std::ofstream(dir / "other.json") << R"({"kind": "example.com/x", "devices": [{"name": "y"}]})";
  std::ofstream(dir / "notes.txt") << "kind: a.b/c\ndevices:\n- name: ignored\n";
  auto devices = cdi_devices_in({dir.string(), "/nonexistent/cdi"});
  std::sort(devices.begin(), devices.end());
  EXPECT_EQ(devices.size(), 4u);
  EXPECT_EQ(devices.front(), "example.com/x=y");
  std::filesystem::remove_all(dir);
}

EngineIdentity engine(const json& version, const json& info = json()) {
  return docker_api::engine_identity(version, info);
}

const json kCdiOn = json::parse(R"({"CDISpecDirs": ["/etc/cdi"]})");
const std::vector<std::string> kGpus = {"GPU-a", "GPU-b"};
const std::vector<std::string> kBothNamed = {"nvidia.com/gpu=GPU-a", "nvidia.com/gpu=GPU-b",
                                             "nvidia.com/gpu=all"};

TEST(GpuAttachment, AutoTakesCdiOnlyWhereEveryGpuIsNamedAndElseDockersNvidiaDriver) {
  EXPECT_EQ(*choose_gpu_attachment(engine(kDocker20), "auto", kGpus, {}),
            GpuAttachment::nvidia_driver);
  EXPECT_EQ(*choose_gpu_attachment(engine(kDocker28, kCdiOn), "auto", kGpus, kBothNamed),
            GpuAttachment::cdi);
  EXPECT_EQ(*choose_gpu_attachment(engine(kDocker28, kCdiOn), "auto", kGpus,
                                   {"nvidia.com/gpu=0", "nvidia.com/gpu=1"}),
            GpuAttachment::nvidia_driver)
      << "specs that name GPUs by index cannot be trusted to mean the same GPUs";
  EXPECT_EQ(*choose_gpu_attachment(engine(kPodman54), "auto", kGpus, kBothNamed),
            GpuAttachment::cdi);
  EXPECT_EQ(*choose_gpu_attachment(engine(kDocker20), "nvidia", kGpus, kBothNamed),
            GpuAttachment::nvidia_driver);
}

TEST(GpuAttachment, RefusesWhatWouldStartSessionsWithoutTheirGpus) {
  auto old_podman = choose_gpu_attachment(engine(kPodman43), "auto", kGpus, kBothNamed);
  ASSERT_FALSE(old_podman.ok());
  EXPECT_NE(old_podman.error().message.find("Podman 4.3.1 (API 1.41) drops GPU requests"),
            std::string::npos)
      << old_podman.error().message;
  EXPECT_NE(old_podman.error().message.find("upgrade Podman to 5.4"), std::string::npos);

  auto nvidia_on_podman = choose_gpu_attachment(engine(kPodman54), "nvidia", kGpus, kBothNamed);
  ASSERT_FALSE(nvidia_on_podman.ok());
  EXPECT_NE(nvidia_on_podman.error().message.find("ignores the nvidia device driver"),
            std::string::npos);

  auto unnamed = choose_gpu_attachment(engine(kPodman54), "auto", kGpus, {"nvidia.com/gpu=GPU-a"});
  ASSERT_FALSE(unnamed.ok());
  EXPECT_NE(unnamed.error().message.find("the CDI specs in /etc/cdi, /var/run/cdi no "
                                         "nvidia.com/gpu=GPU-b"),
            std::string::npos)
      << unnamed.error().message;
  EXPECT_NE(unnamed.error().message.find("--device-name-strategy=uuid"), std::string::npos);

  auto cdi_off = choose_gpu_attachment(engine(kDocker20), "cdi", kGpus, kBothNamed);
  ASSERT_FALSE(cdi_off.ok());
  EXPECT_NE(cdi_off.error().message.find("Docker 20.10.24 (API 1.41) has CDI turned off"),
            std::string::npos);

  auto docker_found = engine(kDocker28, json::parse(R"({"CDISpecDirs": ["/etc/cdi"],
                                                        "DiscoveredDevices": []})"));
  auto not_found = choose_gpu_attachment(docker_found, "cdi", kGpus, {});
  ASSERT_FALSE(not_found.ok());
  EXPECT_NE(not_found.error().message.find("Docker 28.2.2 (API 1.50) found no "
                                           "nvidia.com/gpu=GPU-a, nvidia.com/gpu=GPU-b"),
            std::string::npos)
      << not_found.error().message;

  EXPECT_EQ(choose_gpu_attachment(engine(kDocker20), "all", kGpus, {}).error().code,
            ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace gpupool::agent
