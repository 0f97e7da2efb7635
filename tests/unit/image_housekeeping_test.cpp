// Node housekeeping: which images are collected (only digest-pulled ones nothing has wanted
// for the time, no tagged or used one), the engine's disk-use JSON read, and the figures a
// node reports crossing the wire.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/image_housekeeping.hpp"
#include "engine/docker_api/image_body.hpp"
#include "protocol/sync_json.hpp"

namespace gpupool::testing {
namespace {

using agent::images_to_collect;

EngineImage pulled(const std::string& id, const std::string& digest, int containers = 0) {
  return {id, {}, {digest}, 1000, containers};
}

TEST(ImagesToCollect, OnlyPulledImagesNothingWantedForTheWholeTime) {
  const std::string catalog = "reg:5000/lab/session@sha256:aa";
  std::vector<EngineImage> images = {
      pulled("sha256:1", catalog),
      pulled("sha256:2", "reg:5000/lab/old@sha256:bb"),
      pulled("sha256:3", "reg:5000/lab/used@sha256:cc", 1),           // a container's
      {"sha256:4", {"gpupool/session:local"}, {}, 1000, 0},           // built here, tagged
      {"sha256:5", {"ubuntu:22.04"}, {"ubuntu@sha256:dd"}, 1000, 0},  // the host's own pull
      {"sha256:6", {}, {}, 1000, 0},                                  // a dangling layer set
  };
  std::map<std::string, std::int64_t> last_wanted;
  const std::int64_t hour = 3600 * 1000;
  EXPECT_TRUE(images_to_collect(images, {catalog}, last_wanted, 0, hour).empty())
      << "what a fresh agent finds waits the whole time first";
  EXPECT_TRUE(images_to_collect(images, {catalog}, last_wanted, hour - 1, hour).empty());
  EXPECT_EQ(images_to_collect(images, {catalog}, last_wanted, hour, hour),
            std::vector<std::string>{"sha256:2"});
  // Wanted again (a session, a pull ahead) starts its time afresh.
  EXPECT_TRUE(images_to_collect(images, {"reg:5000/lab/old@sha256:bb"}, last_wanted, hour + 1, hour)
                  .empty());
  EXPECT_EQ(images_to_collect(images, {}, last_wanted, 2 * hour + 1, hour),
            (std::vector<std::string>{"sha256:1", "sha256:2"}));
  // 0: never.
  EXPECT_TRUE(images_to_collect(images, {}, last_wanted, 100 * hour, 0).empty());
  // Gone from the engine: forgotten.
  images.erase(images.begin());
  images_to_collect(images, {}, last_wanted, 100 * hour, hour);
  EXPECT_FALSE(last_wanted.contains("sha256:1"));
}

TEST(EngineDiskUsage, ReadFromSystemDf) {
  auto df = nlohmann::json::parse(R"({
    "LayersSize": 5000000000,
    "Images": [{"Id": "sha256:1", "RepoTags": ["<none>:<none>"], "RepoDigests": ["r/x@sha256:aa"],
                "Size": 1200, "Containers": 2},
               {"Id": "sha256:2", "RepoTags": null, "RepoDigests": [], "Size": -1}],
    "Containers": [{"SizeRw": 300}, {"SizeRw": 200}, {}],
    "Volumes": [{"UsageData": {"Size": 70}}, {"UsageData": {"Size": -1}}, {}]})");
  EngineDiskUsage usage = docker_api::disk_usage(df);
  EXPECT_EQ(usage.images_bytes, 5'000'000'000);
  EXPECT_EQ(usage.containers_bytes, 500);
  EXPECT_EQ(usage.volumes_bytes, 70);
  ASSERT_EQ(usage.images.size(), 2u);
  EXPECT_TRUE(usage.images[0].tags.empty()) << "<none>:<none> is no tag";
  EXPECT_EQ(usage.images[0].digests, std::vector<std::string>{"r/x@sha256:aa"});
  EXPECT_EQ(usage.images[0].containers, 2);
  EXPECT_EQ(usage.images[1].size_bytes, 0);
  EXPECT_TRUE(docker_api::disk_usage(nlohmann::json::object()).images.empty());
}

TEST(NodeDiskOnTheWire, CrossesWholeAndOutOfRangeIsRefused) {
  SyncRequest request;
  request.node.name = "n1";
  request.disk = NodeDisk{10, 20, 30, -1, -1, 4, 2, 99};
  auto read = protocol::sync_request_from_json(protocol::sync_request_to_json(request, 2));
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_TRUE(read->disk.has_value());
  EXPECT_EQ(read->disk->containers_bytes, 20);
  EXPECT_EQ(read->disk->free_bytes, -1);
  EXPECT_EQ(read->disk->collected_bytes, 99);

  auto message = nlohmann::json::parse(protocol::sync_request_to_json(request, 2));
  message["disk"]["images_bytes"] = -5;
  EXPECT_FALSE(protocol::sync_request_from_json(message.dump()).ok());
  message["disk"]["images_bytes"] = 1;
  message["disk"]["path"] = "/";
  EXPECT_FALSE(protocol::sync_request_from_json(message.dump()).ok());
  request.disk.reset();
  EXPECT_FALSE(protocol::sync_request_from_json(protocol::sync_request_to_json(request, 2))->disk);
}

}  // namespace
}  // namespace gpupool::testing
