#include "engine/docker_api/pull_progress.hpp"

#include <gtest/gtest.h>

namespace gpupool::docker_api {
namespace {

// As dockerd 20.10 streams a pull of a two-layer image, one of whose layers it already has.
constexpr const char* kPull[] = {
    R"({"status":"Pulling from gpupool/session","id":"pytorch1.13"})",
    R"({"status":"Already exists","progressDetail":{},"id":"a1b2c3d4e5f6"})",
    R"({"status":"Pulling fs layer","progressDetail":{},"id":"0f1e2d3c4b5a"})",
    R"({"status":"Pulling fs layer","progressDetail":{},"id":"99aa88bb77cc"})",
    R"({"status":"Waiting","progressDetail":{},"id":"99aa88bb77cc"})",
    R"({"status":"Downloading","progressDetail":{"current":1200000000,"total":3400000000},"progress":"[>  ]","id":"0f1e2d3c4b5a"})",
};

TEST(PullProgress, AddsUpTheLayersBeingDownloaded) {
  PullProgress progress;
  for (const char* line : kPull) progress.feed(line);
  EXPECT_FALSE(progress.failed());
  EXPECT_EQ(progress.downloaded_bytes(), 1'200'000'000);
  EXPECT_EQ(progress.total_bytes(), 3'400'000'000);
  EXPECT_EQ(progress.layers(), 3);
  EXPECT_EQ(progress.layers_done(), 1) << "the layer it already had";
  EXPECT_EQ(progress.describe(), "1.2 GB of 3.4 GB, 1 of 3 layers");

  progress.feed(
      R"({"status":"Downloading","progressDetail":{"current":5000,"total":80000000},"id":"99aa88bb77cc"})");
  progress.feed(R"({"status":"Download complete","progressDetail":{},"id":"0f1e2d3c4b5a"})");
  progress.feed(
      R"({"status":"Extracting","progressDetail":{"current":65536,"total":3400000000},"id":"0f1e2d3c4b5a"})");
  EXPECT_EQ(progress.downloaded_bytes(), 3'400'005'000) << "extraction is not download";
  EXPECT_EQ(progress.total_bytes(), 3'480'000'000);
  progress.feed(R"({"status":"Pull complete","progressDetail":{},"id":"99aa88bb77cc"})");
  progress.feed(R"({"status":"Digest: sha256:4e5f"})");
  progress.feed(R"({"status":"Status: Downloaded newer image for gpupool/session:pytorch1.13"})");
  EXPECT_EQ(progress.layers_done(), 3);
  EXPECT_EQ(progress.downloaded_bytes(), progress.total_bytes());
  EXPECT_EQ(progress.digest(), "sha256:4e5f");
}

TEST(PullProgress, KeepsTheRegistrysError) {
  PullProgress progress;
  progress.feed(R"({"status":"Pulling from gpupool/session","id":"x"})");
  progress.feed(
      R"({"errorDetail":{"message":"manifest unknown"},"error":"manifest for gpupool/session:x not found: manifest unknown"})");
  EXPECT_TRUE(progress.failed());
  EXPECT_EQ(progress.error(), "manifest for gpupool/session:x not found: manifest unknown");
}

TEST(PullProgress, IgnoresWhatItCannotRead) {
  PullProgress progress;
  for (const char* line :
       {"", "not json", "[1,2]", R"({"status":5})", R"({"status":"Downloading","id":7})",
        R"({"status":"Downloading","id":"l","progressDetail":{"current":-5,"total":"x"}})",
        R"({"status":"Downloading","id":"m","progressDetail":[]})"}) {
    progress.feed(line);
  }
  EXPECT_FALSE(progress.failed());
  EXPECT_EQ(progress.downloaded_bytes(), 0);
  EXPECT_EQ(progress.total_bytes(), 0);
}

TEST(PullProgress, SaysSizesAsRegistriesDo) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(999), "999 B");
  EXPECT_EQ(human_bytes(12'345), "12 kB");
  EXPECT_EQ(human_bytes(340'000'000), "340 MB");
  EXPECT_EQ(human_bytes(3'400'000'000), "3.4 GB");
}

}  // namespace
}  // namespace gpupool::docker_api
