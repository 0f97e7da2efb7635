#include <gtest/gtest.h>

#include <fmt/format.h>

#include "scheduler/schedule.hpp"
#include "scheduler_fixtures.hpp"

namespace gpupool::scheduler {
namespace {

constexpr UnixMillis kNow = 1'000'000;

Node make_node(const std::string& name, int gpus, const std::string& model = "A100-80GB") {
  return testing::gpu_server(name, gpus, kNow, model);
}

PendingRequest request(const std::string& id, int gpus, UnixMillis at = 1,
                       const std::string& model = "") {
  SessionRequest session_request;
  session_request.gpus = gpus;
  session_request.gpu_model = model;
  return {id, session_request, at, "", 0};
}

TEST(Schedule, PlacesWholeGpusWithDistinctPorts) {
  Snapshot snapshot{{make_node("n1", 4)}, {}, {request("a", 2), request("b", 1, 2)}};
  auto plan = schedule(snapshot, kNow);
  ASSERT_EQ(plan.placements.size(), 2u);
  EXPECT_EQ(plan.placements[0].gpu_indices, (std::vector<int>{0, 1}));
  EXPECT_EQ(plan.placements[1].gpu_indices, (std::vector<int>{2}));
  EXPECT_EQ(plan.placements[0].gpu_uuids, (std::vector<std::string>{"n1-0", "n1-1"}));
  EXPECT_EQ(plan.placements[0].jupyter_port, 30000);
  EXPECT_EQ(plan.placements[0].ssh_port, 30001);
  EXPECT_EQ(plan.placements[1].jupyter_port, 30002);
  EXPECT_TRUE(plan.queued.empty());
}

TEST(Schedule, NeverGivesAnAllocatedGpuOrPortAgain) {
  Snapshot snapshot{
      {make_node("n1", 2)}, {{"old", "n1", {0}, 0, 1, 1024, 30000, 30001}}, {request("a", 1)}};
  auto plan = schedule(snapshot, kNow);
  ASSERT_EQ(plan.placements.size(), 1u);
  EXPECT_EQ(plan.placements[0].gpu_indices, (std::vector<int>{1}));
  EXPECT_EQ(plan.placements[0].jupyter_port, 30002);
}

TEST(Schedule, BestFitKeepsTheEmptyNodeForBigRequests) {
  Snapshot snapshot{{make_node("big", 8), make_node("half", 8)},
                    {{"x", "half", {0, 1, 2, 3}, 0, 1, 1024, 30000, 30001}},
                    {request("small", 2)}};
  auto plan = schedule(snapshot, kNow);
  ASSERT_EQ(plan.placements.size(), 1u);
  EXPECT_EQ(plan.placements[0].node, "half");
}

TEST(Schedule, TheNodeHoldingTheUsersHomeGoesFirstWhenItHasRoom) {
  Snapshot snapshot{{make_node("big", 8), make_node("half", 8)},
                    {{"x", "half", {0, 1, 2, 3}, 0, 1, 1024, 30000, 30001}},
                    {request("small", 2)}};
  snapshot.pending[0].home_node = "big";
  auto plan = schedule(snapshot, kNow);
  ASSERT_EQ(plan.placements.size(), 1u);
  EXPECT_EQ(plan.placements[0].node, "big") << "best fit would say half";

  // Seven of big's eight GPUs taken: four do not fit there any more.
  snapshot.allocations.push_back({"y", "big", {0, 1, 2, 3, 4, 5, 6}, 0, 1, 1024, 30002, 30003});
  snapshot.pending[0].request.gpus = 4;
  plan = schedule(snapshot, kNow);
  ASSERT_EQ(plan.placements.size(), 1u);
  EXPECT_EQ(plan.placements[0].node, "half") << "the home node has no room: elsewhere, at once";
  EXPECT_TRUE(plan.queued.empty());
}

TEST(Schedule, QueuesWhatDoesNotFitWithReasonAndPosition) {
  Snapshot snapshot{
      {make_node("n1", 2)}, {}, {request("a", 2, 1), request("b", 2, 2), request("c", 1, 3)}};
  auto plan = schedule(snapshot, kNow);
  ASSERT_EQ(plan.placements.size(), 1u);
  ASSERT_EQ(plan.queued.size(), 2u);
  EXPECT_EQ(plan.queued[0].session_id, "b");
  EXPECT_EQ(plan.queued[0].position, 1);
  EXPECT_EQ(english(plan.queued[0].reason), "waiting for 2 free GPUs on one node");
  EXPECT_EQ(plan.queued[1].position, 2);
}

TEST(Schedule, HonoursTheGpuModel) {
  Snapshot snapshot{{make_node("a100", 4, "A100-80GB"), make_node("h100", 4, "H100-80GB")},
                    {},
                    {request("a", 1, 1, "H100-80GB")}};
  auto plan = schedule(snapshot, kNow);
  ASSERT_EQ(plan.placements.size(), 1u);
  EXPECT_EQ(plan.placements[0].node, "h100");
}

TEST(Schedule, SkipsNodesThatWentSilent) {
  Node silent = make_node("silent", 4);
  silent.last_seen = kNow - kNodeSilenceLimitMillis - 1;
  Snapshot snapshot{{silent}, {}, {request("a", 1)}};
  auto plan = schedule(snapshot, kNow);
  EXPECT_TRUE(plan.placements.empty());
  EXPECT_EQ(plan.queued.size(), 1u);
}

TEST(Schedule, QueuesWhenThePortRangeIsExhausted) {
  Node node = make_node("n1", 4);
  node.port_max = node.port_min + 1;
  Snapshot snapshot{{node}, {}, {request("a", 1, 1), request("b", 1, 2)}};
  auto plan = schedule(snapshot, kNow);
  EXPECT_EQ(plan.placements.size(), 1u);
  EXPECT_EQ(plan.queued.size(), 1u);
}

TEST(Schedule, ServesInArrivalOrderAndIsDeterministic) {
  Snapshot snapshot{{make_node("n1", 1), make_node("n2", 1)},
                    {},
                    {request("late", 1, 5), request("early", 1, 1), request("mid", 1, 3)}};
  auto plan = schedule(snapshot, kNow);
  ASSERT_EQ(plan.placements.size(), 2u);
  EXPECT_EQ(plan.placements[0].session_id, "early");
  EXPECT_EQ(plan.placements[1].session_id, "mid");
  EXPECT_EQ(plan.queued[0].session_id, "late");
  auto again = schedule(snapshot, kNow);
  EXPECT_EQ(again.placements[0].node, plan.placements[0].node);
  EXPECT_EQ(again.placements[1].node, plan.placements[1].node);
}

// Property: over random clusters and request streams, no GPU or port is ever handed out twice.
TEST(Schedule, NeverOverAllocatesOverRandomInputs) {
  unsigned seed = 12345;
  auto next = [&seed](unsigned bound) {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) % bound;
  };
  for (int round = 0; round < 200; ++round) {
    Snapshot snapshot;
    int node_count = 1 + static_cast<int>(next(4));
    for (int n = 0; n < node_count; ++n)
      snapshot.nodes.push_back(make_node(fmt::format("n{}", n), 1 + static_cast<int>(next(8))));
    int requests = static_cast<int>(next(20));
    for (int r = 0; r < requests; ++r)
      snapshot.pending.push_back(request(fmt::format("r{}", r), 1 + static_cast<int>(next(4)), r));
    auto plan = schedule(snapshot, kNow);
    std::set<std::pair<std::string, int>> gpus;
    std::set<std::pair<std::string, int>> ports;
    for (const auto& placement : plan.placements) {
      for (int index : placement.gpu_indices)
        EXPECT_TRUE(gpus.insert({placement.node, index}).second);
      EXPECT_TRUE(ports.insert({placement.node, placement.jupyter_port}).second);
      EXPECT_TRUE(ports.insert({placement.node, placement.ssh_port}).second);
    }
    EXPECT_EQ(plan.placements.size() + plan.queued.size(), snapshot.pending.size());
  }
}

}  // namespace
}  // namespace gpupool::scheduler
