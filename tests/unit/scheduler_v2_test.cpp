// Scheduler behaviour beyond whole-GPU best fit: GPU shares, CUDA against drivers, CPU and
// memory fit, drained nodes, queue order (priority, fair share, arrival) and backfill.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>
#include <random>

#include "scheduler/fair_share.hpp"
#include "scheduler/placement_state.hpp"
#include "scheduler/schedule.hpp"
#include "scheduler_fixtures.hpp"

namespace gpupool::scheduler {
namespace {

constexpr UnixMillis kNow = 5'000'000;

Node node(const std::string& name, int gpus, const std::string& model = "A100-80GB",
          std::int64_t gpu_gb = 80) {
  return testing::gpu_server(name, gpus, kNow, model, gpu_gb);
}

PendingRequest whole(const std::string& id, int gpus, UnixMillis at = 1) {
  PendingRequest pending{id, {}, at, "", 0};
  pending.request.gpus = gpus;
  pending.request.cpus = 1;
  pending.request.memory_mb = 1024;
  return pending;
}

PendingRequest share(const std::string& id, std::int64_t gpu_gb, UnixMillis at = 1) {
  PendingRequest pending = whole(id, 1, at);
  pending.request.gpu_memory_mb = gpu_gb * 1024;
  return pending;
}

std::map<std::string, Placement> by_id(const Plan& plan) {
  std::map<std::string, Placement> placed;
  for (const auto& placement : plan.placements) placed[placement.session_id] = placement;
  return placed;
}

TEST(Shares, PackOntoOneGpuBeforeOpeningAnother) {
  Snapshot snapshot{{node("n1", 2)}, {}, {share("a", 30, 1), share("b", 30, 2), share("c", 30, 3)}};
  auto placed = by_id(schedule(snapshot, kNow));
  ASSERT_EQ(placed.size(), 3u);
  EXPECT_EQ(placed["a"].gpu_indices, placed["b"].gpu_indices) << "best fit packs shares together";
  EXPECT_NE(placed["c"].gpu_indices, placed["a"].gpu_indices)
      << "80 GB holds two 30 GB shares, not three";
}

TEST(Shares, NeverMixWithExclusiveSessions) {
  Snapshot snapshot{{node("n1", 2)}, {}, {share("s", 10, 1), whole("w", 2, 2)}};
  auto plan = schedule(snapshot, kNow);
  ASSERT_EQ(plan.placements.size(), 1u);
  EXPECT_EQ(plan.placements[0].session_id, "s");
  ASSERT_EQ(plan.queued.size(), 1u);
  EXPECT_EQ(plan.queued[0].session_id, "w")
      << "a GPU with a share is not free for a whole-GPU session";
}

TEST(Shares, HeldSharesCountAgainstTheGpusMemory) {
  Snapshot snapshot{
      {node("n1", 1)}, {{"old", "n1", {0}, 60 * 1024, 1, 1024, 30000, 30001}}, {share("a", 30)}};
  auto plan = schedule(snapshot, kNow);
  EXPECT_TRUE(plan.placements.empty());
  EXPECT_EQ(english(plan.queued[0].reason), "waiting for a GPU with 30 GB free");
}

TEST(Cuda, NodesWhoseDriverIsTooOldAreInfeasibleAndTheReasonSaysSo) {
  Node old_driver = node("gpu-3", 4);
  old_driver.driver_cuda = "12.2";
  PendingRequest pending = whole("a", 1);
  pending.image_cuda = "12.4";
  auto plan = schedule({{old_driver}, {}, {pending}}, kNow);
  ASSERT_EQ(plan.queued.size(), 1u);
  EXPECT_EQ(english(plan.queued[0].reason), "needs CUDA 12.4; node gpu-3 driver supports 12.2");
  Node new_driver = node("gpu-4", 4);
  plan = schedule({{old_driver, new_driver}, {}, {pending}}, kNow);
  ASSERT_EQ(plan.placements.size(), 1u);
  EXPECT_EQ(plan.placements[0].node, "gpu-4");
}

TEST(Fit, CpuAndMemoryAreResourcesToo) {
  PendingRequest hungry = whole("a", 1);
  hungry.request.cpus = 24;
  PendingRequest second = whole("b", 1, 2);
  second.request.cpus = 24;
  auto plan = schedule({{node("n1", 4)}, {}, {hungry, second}}, kNow);
  EXPECT_EQ(plan.placements.size(), 1u) << "32 CPUs hold one 24-CPU session";
  EXPECT_EQ(plan.queued.size(), 1u);
}

TEST(Fit, TheQueueReasonNamesTheShortResource) {
  PendingRequest big = whole("a", 1);
  big.request.cpus = 24;
  big.request.memory_mb = 300 * 1024;
  auto plan = schedule({{node("n1", 4)}, {}, {big}}, kNow);
  ASSERT_EQ(plan.queued.size(), 1u);
  EXPECT_EQ(english(plan.queued[0].reason),
            "waiting for 300 GB of memory on a node with free GPUs");
}

TEST(Fit, DrainedNodesTakeNothingNew) {
  Node drained = node("n1", 4);
  drained.drained = true;
  auto plan = schedule({{drained}, {}, {whole("a", 1)}}, kNow);
  EXPECT_TRUE(plan.placements.empty());
}

TEST(Fit, RemovedNodesTakeNothingNewThoughTheyReportedJustNow) {
  Node removed = node("n1", 4);
  removed.removed = true;
  auto plan = schedule({{removed, node("n2", 4)}, {}, {whole("a", 1)}}, kNow);
  ASSERT_EQ(plan.placements.size(), 1u);
  EXPECT_EQ(plan.placements[0].node, "n2");
}

TEST(Queue, HigherPriorityThenLessRecentUsageThenArrival) {
  std::vector<PendingRequest> pending = {whole("early-heavy", 1, 1), whole("late-light", 1, 5),
                                         whole("urgent", 1, 9), whole("early-light", 1, 2)};
  pending[0].fair_share_usage = 100;
  pending[2].request.priority = 10;
  auto order = queue_order(pending);
  std::vector<std::string> ids;
  for (auto index : order) ids.push_back(pending[index].session_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"urgent", "early-light", "late-light", "early-heavy"}));
}

TEST(Queue, AQuietGroupGoesBeforeABusyOneThenTheQuieterUser) {
  std::vector<PendingRequest> pending = {whole("busy-group-idle-user", 1, 1),
                                         whole("quiet-group-busier-user", 1, 2),
                                         whole("quiet-group-idle-user", 1, 3)};
  pending[0].group_fair_share_usage = 50;
  pending[1].group_fair_share_usage = 10;
  pending[1].fair_share_usage = 8;
  pending[2].group_fair_share_usage = 10;
  auto order = queue_order(pending);
  std::vector<std::string> ids;
  for (auto index : order) ids.push_back(pending[index].session_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"quiet-group-idle-user", "quiet-group-busier-user",
                                           "busy-group-idle-user"}));
}

TEST(Queue, BackfillDoesNotTakeTheNodeReservedForTheHead) {
  // n1 has 2 of 4 GPUs busy; the head wants 4 (blocked) and is reserved n1. A later 1-GPU
  // request must not take n1's free GPUs; it may use n2.
  Node n1 = node("n1", 4);
  Node n2 = node("n2", 1);
  Snapshot snapshot{{n1, n2},
                    {{"busy", "n1", {0, 1}, 0, 1, 1024, 30000, 30001}},
                    {whole("head", 4, 1), whole("small", 1, 2), whole("small2", 1, 3)}};
  auto plan = schedule(snapshot, kNow);
  auto placed = by_id(plan);
  ASSERT_TRUE(placed.contains("small"));
  EXPECT_EQ(placed["small"].node, "n2");
  EXPECT_FALSE(placed.contains("small2")) << "n1's free GPUs are held for the head";
  EXPECT_EQ(english(plan.queued.back().reason),
            "waiting behind an earlier request that holds the free GPUs");
  EXPECT_EQ(plan.queued.front().session_id, "head");
}

TEST(FairShare, UsageDecaysWithItsHalfLife) {
  constexpr UnixMillis kHour = 3600 * 1000;
  std::vector<UsageInterval> recent = {{kNow - 2 * kHour, kNow, 2}};
  EXPECT_DOUBLE_EQ(decayed_gpu_hours(recent, kNow, 24 * kHour), 4.0);
  std::vector<UsageInterval> old = {{kNow - 26 * kHour, kNow - 24 * kHour, 2}};
  EXPECT_NEAR(decayed_gpu_hours(old, kNow, 24 * kHour), 2.0, 1e-9);
  std::vector<UsageInterval> running = {{kNow - kHour, 0, 0.5}};
  EXPECT_DOUBLE_EQ(decayed_gpu_hours(running, kNow, 24 * kHour), 0.5);
}

// Property: random clusters, held allocations and request streams never over-allocate a
// GPU's count or memory, never mix exclusive and shared use, never exceed CPU or memory,
// never place on a drained, silent or too-old node, and give the same plan twice.
TEST(Properties, RandomClustersAndStreams) {
  std::mt19937 random(20261127);
  auto pick = [&](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random);
  };
  for (int round = 0; round < 300; ++round) {
    Snapshot snapshot;
    int nodes = pick(1, 6);
    for (int n = 0; n < nodes; ++n) {
      Node candidate = node(fmt::format("n{}", n), pick(1, 8), pick(0, 1) ? "A100-80GB" : "T4-16GB",
                            pick(0, 1) ? 80 : 16);
      candidate.drained = pick(0, 9) == 0;
      if (pick(0, 9) == 0) candidate.last_seen = kNow - kNodeSilenceLimitMillis - 1;
      candidate.driver_cuda = pick(0, 1) ? "12.4" : "11.8";
      candidate.cpus = pick(4, 32);
      snapshot.nodes.push_back(candidate);
    }
    int requests = pick(0, 40);
    for (int r = 0; r < requests; ++r) {
      PendingRequest pending = pick(0, 2) == 0 ? share(fmt::format("r{}", r), pick(1, 40), r)
                                               : whole(fmt::format("r{}", r), pick(1, 4), r);
      pending.request.cpus = pick(1, 8);
      pending.request.gpu_model = pick(0, 3) == 0 ? "T4-16GB" : "";
      pending.image_cuda = pick(0, 3) == 0 ? "12.4" : "";
      pending.request.priority = pick(0, 1);
      pending.fair_share_usage = pick(0, 5);
      snapshot.pending.push_back(pending);
    }
    auto plan = schedule(snapshot, kNow);
    auto again = schedule(snapshot, kNow);
    ASSERT_EQ(plan.placements.size(), again.placements.size());
    for (std::size_t i = 0; i < plan.placements.size(); ++i) {
      EXPECT_EQ(plan.placements[i].node, again.placements[i].node);
      EXPECT_EQ(plan.placements[i].gpu_indices, again.placements[i].gpu_indices);
    }
    EXPECT_EQ(plan.placements.size() + plan.queued.size(), snapshot.pending.size());

    std::map<std::string, const PendingRequest*> requests_by_id;
    for (const auto& pending : snapshot.pending) requests_by_id[pending.session_id] = &pending;
    std::map<std::pair<std::string, int>, std::int64_t> shared_memory;
    std::set<std::pair<std::string, int>> exclusive;
    std::map<std::string, double> cpus;
    std::set<std::pair<std::string, int>> ports;
    for (const auto& placement : plan.placements) {
      const PendingRequest& pending = *requests_by_id.at(placement.session_id);
      const Node* target = nullptr;
      for (const auto& candidate : snapshot.nodes) {
        if (candidate.name == placement.node) target = &candidate;
      }
      ASSERT_NE(target, nullptr);
      EXPECT_FALSE(target->drained);
      EXPECT_LE(kNow - target->last_seen, kNodeSilenceLimitMillis);
      if (!pending.image_cuda.empty()) {
        EXPECT_EQ(target->driver_cuda, "12.4");
      }
      cpus[placement.node] += pending.request.cpus;
      EXPECT_LE(cpus[placement.node], target->cpus);
      EXPECT_TRUE(ports.insert({placement.node, placement.jupyter_port}).second);
      EXPECT_TRUE(ports.insert({placement.node, placement.ssh_port}).second);
      for (int gpu : placement.gpu_indices) {
        const GpuDevice& device = target->gpus[static_cast<std::size_t>(gpu)];
        if (!pending.request.gpu_model.empty()) {
          EXPECT_EQ(device.model, pending.request.gpu_model);
        }
        std::pair<std::string, int> key{placement.node, gpu};
        if (pending.request.gpu_memory_mb > 0) {
          EXPECT_FALSE(exclusive.contains(key)) << "shared use of an exclusive GPU";
          shared_memory[key] += pending.request.gpu_memory_mb;
          EXPECT_LE(shared_memory[key], device.memory_mb) << "GPU memory over-allocated";
        } else {
          EXPECT_FALSE(shared_memory.contains(key)) << "exclusive use of a shared GPU";
          EXPECT_TRUE(exclusive.insert(key).second) << "GPU given twice";
        }
      }
      EXPECT_EQ(static_cast<int>(placement.gpu_indices.size()),
                pending.request.gpu_memory_mb > 0 ? 1 : pending.request.gpus);
    }
  }
}

TEST(PlacementState, ReleaseGivesBackExactlyWhatPlaceTook) {
  std::vector<Node> nodes = {node("n1", 2)};
  PlacementState state(nodes, kNow);
  Demand demand;
  demand.gpus = 2;
  demand.cpus = 4;
  demand.memory_mb = 4096;
  auto first = state.place(demand);
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(state.place(demand).has_value());
  state.release(demand, *first);
  auto second = state.place(demand);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->gpu_indices, first->gpu_indices);
  EXPECT_EQ(second->ports, first->ports);
}

}  // namespace
}  // namespace gpupool::scheduler

namespace gpupool::scheduler {
namespace {

// Pairs (2k, 2k+1) joined by NVLink, halves on different sockets: the simulated layout.
Node eight_gpu_server() {
  Node server = node("dgx", 8);
  for (auto& gpu : server.gpus) {
    for (const auto& other : server.gpus) {
      gpu.links.push_back(other.index == gpu.index           ? GpuLink::same
                          : other.index / 2 == gpu.index / 2 ? GpuLink::nvlink
                          : other.index / 4 == gpu.index / 4 ? GpuLink::numa_node
                                                             : GpuLink::system);
    }
  }
  return server;
}

TEST(Topology, TwoGpusGoToAnNvlinkPair) {
  Node server = eight_gpu_server();
  EXPECT_EQ(best_connected(server, {1, 2, 3, 5}, 2), (std::vector<int>{2, 3}));
  EXPECT_EQ(worst_link(server.gpus, {2, 3}), GpuLink::nvlink);
}

TEST(Topology, FourGpusStayOnOneSocket) {
  Node server = eight_gpu_server();
  EXPECT_EQ(best_connected(server, {0, 1, 4, 5, 6, 7}, 4), (std::vector<int>{4, 5, 6, 7}));
}

TEST(Topology, TheSchedulerUsesIt) {
  Node server = eight_gpu_server();
  Snapshot snapshot{
      {server}, {{"busy", "dgx", {0, 4, 6, 7}, 0, 1, 1024, 30000, 30001}}, {whole("pair", 2)}};
  auto plan = schedule(snapshot, kNow);
  ASSERT_EQ(plan.placements.size(), 1u);
  EXPECT_EQ(plan.placements[0].gpu_indices, (std::vector<int>{2, 3}));
}

TEST(Topology, UnknownLinksKeepTheLowestIndices) {
  Node plain = node("plain", 4);
  EXPECT_EQ(best_connected(plain, {0, 1, 2, 3}, 2), (std::vector<int>{0, 1}));
}

}  // namespace
}  // namespace gpupool::scheduler

namespace gpupool::scheduler {
namespace {

Allocation held(const std::string& id, std::vector<int> gpus, bool preemptible, UnixMillis since,
                int port) {
  Allocation allocation{id, "n1", std::move(gpus), 0, 1, 1024, port, port + 1};
  allocation.preemptible = preemptible;
  allocation.since = since;
  return allocation;
}

TEST(Preemption, StopsTheFewestYoungestPreemptibleSessions) {
  Snapshot snapshot{{node("n1", 2)},
                    {held("old", {0}, true, 10, 30000), held("young", {1}, true, 20, 30002)},
                    {whole("urgent", 1)}};
  auto plan = schedule(snapshot, kNow);
  EXPECT_TRUE(plan.placements.empty());
  ASSERT_EQ(plan.preemptions.size(), 1u);
  EXPECT_EQ(plan.preemptions[0].victim, "young");
  EXPECT_EQ(plan.preemptions[0].for_session, "urgent");
}

TEST(Preemption, NeverForPreemptibleRequestsNorOfOrdinarySessions) {
  PendingRequest cheap = whole("cheap", 1);
  cheap.request.preemptible = true;
  Snapshot snapshot{{node("n1", 1)}, {held("p", {0}, true, 10, 30000)}, {cheap}};
  EXPECT_TRUE(schedule(snapshot, kNow).preemptions.empty());
  Snapshot ordinary{{node("n1", 1)}, {held("o", {0}, false, 10, 30000)}, {whole("urgent", 1)}};
  EXPECT_TRUE(schedule(ordinary, kNow).preemptions.empty());
}

TEST(Preemption, TakesAsManyAsTheRequestNeeds) {
  Snapshot snapshot{{node("n1", 2)},
                    {held("a", {0}, true, 10, 30000), held("b", {1}, true, 20, 30002)},
                    {whole("pair", 2)}};
  auto plan = schedule(snapshot, kNow);
  ASSERT_EQ(plan.preemptions.size(), 2u);
}

}  // namespace
}  // namespace gpupool::scheduler

namespace gpupool::scheduler {
namespace {

TEST(Estimates, TheQueueLearnsWhenTimeLimitsFreeEnough) {
  Allocation first{"first", "n1", {0}, 0, 1, 1024, 30000, 30001};
  first.ends_at = kNow + 3'600'000;
  Allocation second{"second", "n1", {1}, 0, 1, 1024, 30002, 30003};
  second.ends_at = kNow + 7'200'000;
  PendingRequest pair = whole("pair", 2);
  pair.request.max_hours = 1;
  auto plan = schedule({{node("n1", 2)}, {first, second}, {pair, whole("one", 1, 2)}}, kNow);
  ASSERT_EQ(plan.queued.size(), 2u);
  EXPECT_EQ(plan.queued[0].estimated_start, kNow + 7'200'000) << "both must end for two GPUs";
  EXPECT_EQ(plan.queued[1].estimated_start, kNow + 3 * 3'600'000)
      << "not before the head, which holds the node for its hour";
}

TEST(Estimates, RequestsBehindTheHeadMayStartEarlierElsewhere) {
  Allocation big{"big", "n1", {0, 1, 2, 3}, 0, 1, 1024, 30000, 30001};
  big.ends_at = kNow + 5 * 3'600'000;
  Allocation small{"small", "n2", {0}, 0, 1, 1024, 30000, 30001};
  small.ends_at = kNow + 3'600'000;
  auto plan = schedule({{node("n1", 4), node("n2", 1)},
                        {big, small},
                        {whole("four", 4), whole("one", 1, 2), whole("another", 1, 3)}},
                       kNow);
  ASSERT_EQ(plan.queued.size(), 3u);
  EXPECT_EQ(plan.queued[0].estimated_start, kNow + 5 * 3'600'000);
  EXPECT_EQ(plan.queued[1].estimated_start, kNow + 3'600'000) << "backfills n2 when small ends";
  EXPECT_EQ(plan.queued[2].estimated_start, 0) << "behind `one`, which never ends";
}

TEST(Estimates, NoneWithoutTimeLimits) {
  Allocation open_ended{"open", "n1", {0}, 0, 1, 1024, 30000, 30001};
  auto plan = schedule({{node("n1", 1)}, {open_ended}, {whole("a", 1)}}, kNow);
  ASSERT_EQ(plan.queued.size(), 1u);
  EXPECT_EQ(plan.queued[0].estimated_start, 0);
}

}  // namespace
}  // namespace gpupool::scheduler

namespace gpupool::scheduler {
namespace {

TEST(Labels, NodeSelectorsPickOnlyNodesWithEveryLabel) {
  Node plain = node("plain", 4);
  Node fast = node("fast", 4);
  fast.labels = {{"net", "infiniband"}, {"rack", "a"}};
  PendingRequest wants = whole("a", 1);
  wants.request.node_selector = {{"net", "infiniband"}};
  auto plan = schedule({{plain, fast}, {}, {wants}}, kNow);
  ASSERT_EQ(plan.placements.size(), 1u);
  EXPECT_EQ(plan.placements[0].node, "fast");
  wants.request.node_selector = {{"net", "infiniband"}, {"rack", "b"}};
  plan = schedule({{plain, fast}, {}, {wants}}, kNow);
  ASSERT_EQ(plan.queued.size(), 1u);
  EXPECT_EQ(english(plan.queued[0].reason), "no usable node has the labels the request selects");
}

}  // namespace
}  // namespace gpupool::scheduler
