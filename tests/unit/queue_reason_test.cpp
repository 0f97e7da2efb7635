#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api_fixture.hpp"
#include "model/queue_reason.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;

TEST(QueueReason, EveryCodeHasWordsAndSurvivesTheStoresRoundTrip) {
  using enum QueueReasonCode;
  const std::vector<std::pair<QueueReason, std::string>> cases{
      {{.code = no_such_model, .gpu_model = "H100"}, "no H100 GPUs in the pool"},
      {{.code = no_node_with_labels}, "no usable node has the labels the request selects"},
      {{.code = no_driver_for_cuda, .cuda = "12.1"},
       "needs CUDA 12.1; no node has an NVIDIA driver"},
      {{.code = driver_too_old, .cuda = "12.4", .node = "gpu-3", .driver_cuda = "12.2"},
       "needs CUDA 12.4; node gpu-3 driver supports 12.2"},
      {{.code = waiting_for_cpus_or_memory, .cpus = 4, .memory_mb = 2048},
       "waiting for 4 CPUs and 2 GB of memory on a node with free GPUs"},
      {{.code = waiting_for_ports}, "waiting for free host ports on a node with free GPUs"},
      {{.code = waiting_behind_reservation},
       "waiting behind an earlier request that holds the free GPUs"},
      {{.code = waiting_for_gpu_memory, .gpu_memory_mb = 10240},
       "waiting for a GPU with 10 GB free"},
      {{.code = waiting_for_cpus_and_memory, .cpus = 1, .memory_mb = 4096},
       "waiting for 1 CPU and 4 GB of memory"},
      {{.code = waiting_for_gpus, .gpu_model = "A100", .gpus = 1, .position = 3},
       "waiting for 1 free A100 GPU on one node; position 3"},
      {{.code = over_model_quota, .gpu_model = "A100", .holder = "group lab", .limit = 2},
       "waiting within the quota: group lab may hold 2 A100 GPUs at once"},
  };
  for (const auto& [reason, words] : cases) {
    EXPECT_EQ(english(reason), words);
    auto stored = to_json(reason);
    stored["estimated_start_ms"] = reason.estimated_start;
    EXPECT_EQ(queue_reason_from_json(json::parse(stored.dump())), reason) << words;
    EXPECT_EQ(parse_queue_reason_code(to_string(reason.code)), reason.code);
  }
  EXPECT_EQ(queue_reason_from_json(json::parse(R"({"code":"made_up"})")), std::nullopt);
  EXPECT_EQ(queue_reason_from_json(json::parse("[1]")), std::nullopt);
}

TEST_F(Api, AQueuedSessionSaysWhyAsACodeWithItsFigures) {
  auto alice = token_for("alice");
  ASSERT_EQ(as(alice, "POST", "/api/v1/sessions", R"({"gpus":4})").status, 201);
  sync({});
  auto queued = as(alice, "POST", "/api/v1/sessions", R"({"gpus":2,"gpu_model":"A100-80GB"})");
  ASSERT_EQ(queued.status, 201) << queued.body;
  auto view = json::parse(queued.body);
  EXPECT_EQ(view["state"], "queued");
  EXPECT_EQ(view["queue"]["code"], "waiting_for_gpus");
  EXPECT_EQ(view["queue"]["position"], 1);
  EXPECT_EQ(view["queue"]["parameters"], (json{{"gpus", 2}, {"gpu_model", "A100-80GB"}}));
  EXPECT_EQ(view["reason"], "waiting for 2 free A100-80GB GPUs on one node; position 1");
  auto listed = json::parse(as(alice, "GET", "/api/v1/sessions").body);
  for (const auto& session : listed["sessions"]) {
    if (session["state"] != "queued") {
      EXPECT_EQ(session["queue"], nullptr) << "a placed session waits for nothing";
    }
  }
}

}  // namespace
}  // namespace gpupool::testing
