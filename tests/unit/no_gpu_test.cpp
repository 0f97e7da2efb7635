// Sessions without a GPU: set-up work on a GPU node at the CPU price, placed where it takes
// CPUs from no free GPU, with the image's CUDA needing no driver.
#include <gtest/gtest.h>

#include "api_fixture.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;

class NoGpu : public Api {};

TEST_F(NoGpu, ASessionWithoutAGpuIsPlacedAndPaysTheCpuPrice) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  ASSERT_EQ(as(admin, "PUT", "/api/v1/prices/CPU", R"({"per_gpu_hour":0.5})").status, 200);
  ASSERT_EQ(as(admin, "PUT", "/api/v1/prices/A100-80GB", R"({"per_gpu_hour":10})").status, 200);
  ASSERT_EQ(
      as(admin, "POST", "/api/v1/users/alice/balance", R"({"amount":100,"idempotency_key":"k"})")
          .status,
      201);

  auto refused = as(alice, "POST", "/api/v1/sessions", R"({"gpus":0,"gpu_model":"A100-80GB"})");
  EXPECT_EQ(refused.status, 400) << refused.body;
  auto created = as(alice, "POST", "/api/v1/sessions", R"({"gpus":0,"cpus":4})");
  ASSERT_EQ(created.status, 201) << created.body;
  std::string id = json::parse(created.body)["id"];
  sync({});
  Session placed = fetch(id);
  EXPECT_EQ(placed.node, "node-1");
  EXPECT_TRUE(placed.gpu_indices.empty());
  EXPECT_EQ(placed.billed_gpu_model, "CPU");
  EXPECT_EQ(placed.billed_gpus, 0);
  EXPECT_EQ(placed.rate_micros_per_hour, 2'000'000) << "4 CPUs at 0.5 credits an hour";

  // It holds no GPU: all four stay free for GPU sessions.
  auto pool = json::parse(as(alice, "GET", "/api/v1/pool").body);
  EXPECT_EQ(pool["gpu_models"][0]["free"], 4);

  sync({observed(id, ObservedPhase::running)});
  clock_.advance(3600 * 1000);
  ASSERT_EQ(as(alice, "DELETE", "/api/v1/sessions/" + id).status, 200);
  sync({});
  auto balance = json::parse(as(alice, "GET", "/api/v1/balance").body);
  ASSERT_FALSE(balance["entries"].empty());
  EXPECT_EQ(balance["entries"][0]["kind"], "charge");
  EXPECT_DOUBLE_EQ(balance["entries"][0]["amount"].get<double>(), -2.0);
  EXPECT_NE(balance["entries"][0]["note"].get<std::string>().find("4 × CPU (no GPU)"),
            std::string::npos)
      << balance["entries"][0];
}

TEST_F(NoGpu, AnImageNeedingANewerDriverStillSetsUpWithoutAGpu) {
  ASSERT_TRUE(store_
                  ->upsert_image({"pytorch2.7-cuda12.8-runtime", "gpupool/session:cu128", "pytorch",
                                  "2.7", "12.8", "", "runtime", false, "available"})
                  .ok());
  auto alice = token_for("alice");
  auto with_gpu =
      as(alice, "POST", "/api/v1/sessions", R"({"image":"pytorch2.7-cuda12.8-runtime"})");
  EXPECT_EQ(with_gpu.status, 400) << with_gpu.body;
  auto without =
      as(alice, "POST", "/api/v1/sessions", R"({"image":"pytorch2.7-cuda12.8-runtime","gpus":0})");
  ASSERT_EQ(without.status, 201) << without.body;
  sync({});
  EXPECT_EQ(fetch(json::parse(without.body)["id"]).node, "node-1");
}

}  // namespace
}  // namespace gpupool::testing
