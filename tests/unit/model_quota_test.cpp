// Per-model GPU quotas: the admission check for requests that name a model, the scheduler
// keeping requests that name none within the limits, and the store and service around them.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>
#include <random>

#include "scheduler/quota_check.hpp"
#include "scheduler/schedule.hpp"
#include "scheduler_fixtures.hpp"
#include "service_fixture.hpp"

namespace gpupool::testing {
namespace {

using scheduler::ModelLimit;
using scheduler::PendingRequest;
using scheduler::Snapshot;

constexpr UnixMillis kNow = 5'000'000;

SessionRequest gpus_of(int count, const std::string& model) {
  SessionRequest request;
  request.gpus = count;
  request.gpu_model = model;
  return request;
}

PendingRequest pending(const std::string& id, int gpus, UnixMillis at,
                       std::vector<std::size_t> limits) {
  PendingRequest request{id, gpus_of(gpus, ""), at, "", 0, std::move(limits)};
  request.request.cpus = 1;
  request.request.memory_mb = 1024;
  return request;
}

std::string model_of(const Snapshot& snapshot, const scheduler::Placement& placement) {
  for (const auto& node : snapshot.nodes) {
    if (node.name == placement.node)
      return node.gpus[static_cast<std::size_t>(placement.gpu_indices.at(0))].model;
  }
  return "";
}

TEST(ModelQuotaCheck, ARequestNamingAModelIsCheckedAgainstThatModelsLimit) {
  Quota quota;
  quota.scope = QuotaScope::group;
  quota.subject_name = "lab";
  quota.max_gpus_by_model = {{"A100-80GB", 2}};
  auto use = scheduler::use_of({gpus_of(1, "A100-80GB"), gpus_of(3, "T4-16GB")});
  EXPECT_EQ(use.gpus_by_model["A100-80GB"], 1);
  EXPECT_EQ(use.gpus_by_model["T4-16GB"], 3);
  EXPECT_TRUE(scheduler::check_quota(quota, use, gpus_of(1, "A100-80GB")).ok());
  auto refused = scheduler::check_quota(quota, use, gpus_of(2, "A100-80GB"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message,
            "group lab may hold 2 A100-80GB GPUs at once; 1 in use, 2 asked");
  EXPECT_TRUE(scheduler::check_quota(quota, use, gpus_of(8, "T4-16GB")).ok()) << "no T4 limit";
}

TEST(ModelLimits, RequestsNamingNoModelGoElsewhereOrWait) {
  Snapshot snapshot;
  snapshot.nodes = {gpu_server("a100", 4, kNow, "A100-80GB"), gpu_server("t4", 1, kNow, "T4-16GB")};
  snapshot.model_limits = {{"group lab", "A100-80GB", 1, 1}};
  snapshot.pending = {pending("first", 1, 1, {0}), pending("second", 1, 2, {0}),
                      pending("third", 1, 3, {0}), pending("outsider", 1, 4, {})};
  auto plan = scheduler::schedule(snapshot, kNow);

  std::map<std::string, std::string> models;
  for (const auto& placement : plan.placements)
    models[placement.session_id] = model_of(snapshot, placement);
  EXPECT_EQ(models.size(), 3u);
  int a100_within_limit = 0;
  for (const char* id : {"first", "second", "third"}) {
    if (models.contains(id) && models[id] == "A100-80GB") ++a100_within_limit;
  }
  EXPECT_EQ(a100_within_limit, 1) << "the lab's limit is one A100";
  EXPECT_EQ(models["outsider"], "A100-80GB") << "the waiting request reserved nothing";
  ASSERT_EQ(plan.queued.size(), 1u);
  EXPECT_EQ(plan.queued[0].session_id, "third");
  EXPECT_TRUE(plan.queued[0].held_by_quota);
  EXPECT_EQ(english(plan.queued[0].reason),
            "waiting within the quota: group lab may hold 1 A100-80GB GPU at once");
}

TEST(ModelLimits, ARequestNamingAModelAtItsLimitWaitsWithoutReservingOrPreempting) {
  Snapshot snapshot;
  snapshot.nodes = {gpu_server("a100", 2, kNow, "A100-80GB")};
  snapshot.allocations = {{"held", "a100", {0}, 0, 1, 1024, 30000, 30001, true, 1, 0}};
  snapshot.model_limits = {{"user ada", "A100-80GB", 1, 0}};
  PendingRequest named = pending("named", 1, 1, {0});
  named.request.gpu_model = "A100-80GB";
  snapshot.pending = {named};
  auto plan = scheduler::schedule(snapshot, kNow);
  EXPECT_TRUE(plan.placements.empty());
  ASSERT_EQ(plan.queued.size(), 1u);
  EXPECT_TRUE(plan.queued[0].held_by_quota);
  EXPECT_TRUE(plan.preemptions.empty()) << "preempting cannot help a request over its quota";
}

// Property: whatever the cluster and stream, the GPUs a plan places on a model for the
// requests under a limit never pass what remains of it.
TEST(ModelLimits, NeverExceededOverRandomClustersAndStreams) {
  std::mt19937 random(1127);
  auto pick = [&](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random);
  };
  const std::vector<std::string> models = {"A100-80GB", "T4-16GB", "H100-80GB"};
  for (int round = 0; round < 300; ++round) {
    Snapshot snapshot;
    for (int n = 0, nodes = pick(1, 6); n < nodes; ++n) {
      snapshot.nodes.push_back(gpu_server(fmt::format("n{}", n), pick(1, 8), kNow,
                                          models[static_cast<std::size_t>(pick(0, 2))]));
    }
    for (int l = 0, limits = pick(1, 4); l < limits; ++l) {
      int limit = pick(0, 6);
      snapshot.model_limits.push_back({fmt::format("group g{}", l),
                                       models[static_cast<std::size_t>(pick(0, 2))], limit,
                                       pick(0, limit)});
    }
    for (int r = 0, requests = pick(0, 30); r < requests; ++r) {
      std::vector<std::size_t> under;
      for (std::size_t l = 0; l < snapshot.model_limits.size(); ++l) {
        if (pick(0, 1)) under.push_back(l);
      }
      PendingRequest request = pending(fmt::format("r{}", r), pick(1, 4), r, under);
      if (pick(0, 3) == 0) request.request.gpu_model = models[static_cast<std::size_t>(pick(0, 2))];
      snapshot.pending.push_back(request);
    }
    auto plan = scheduler::schedule(snapshot, kNow);
    std::vector<int> placed(snapshot.model_limits.size(), 0);
    for (const auto& placement : plan.placements) {
      const PendingRequest* request = nullptr;
      for (const auto& candidate : snapshot.pending) {
        if (candidate.session_id == placement.session_id) request = &candidate;
      }
      ASSERT_NE(request, nullptr);
      for (std::size_t l : request->model_limits) {
        if (snapshot.model_limits[l].gpu_model == model_of(snapshot, placement))
          placed[l] += request->request.gpus;
      }
    }
    for (std::size_t l = 0; l < placed.size(); ++l) {
      EXPECT_LE(placed[l], snapshot.model_limits[l].remaining) << "round " << round;
    }
  }
}

class ModelQuotas : public ServiceFixture {
 protected:
  // Gives alice at most `limit` A100s at once.
  Quota limit_alices_a100s(int limit) {
    Quota quota;
    quota.scope = QuotaScope::user;
    quota.subject_id = alice_.id;
    quota.max_gpus_by_model = {{"A100-80GB", limit}};
    EXPECT_TRUE(store_->set_quota(quota).ok());
    return quota;
  }
};

TEST_F(ModelQuotas, StoredReadBackAndEnforcedForTheNamedModel) {
  Quota quota = limit_alices_a100s(2);
  auto stored = store_->quotas_for(alice_.id);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].max_gpus_by_model, quota.max_gpus_by_model);

  ASSERT_TRUE(sessions_->request_session(alice_, gpus_of(1, "A100-80GB")).ok());
  auto refused = sessions_->request_session(alice_, gpus_of(2, "A100-80GB"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::quota_exceeded);
  EXPECT_TRUE(sessions_->request_session(bob_, gpus_of(2, "A100-80GB")).ok()) << "bob has no limit";
}

TEST_F(ModelQuotas, ARequestNamingNoModelWaitsForThePlacedOnesToEnd) {
  limit_alices_a100s(1);
  auto first = sessions_->request_session(alice_, gpus_of(1, ""));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->state, SessionState::scheduled);
  auto second = sessions_->request_session(alice_, gpus_of(1, ""));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->state, SessionState::queued);
  EXPECT_EQ(second->reason,
            "waiting within the quota: user alice may hold 1 A100-80GB GPU at once; position 1");

  ASSERT_TRUE(sessions_->stop_session(alice_, first->id).ok());
  sync({});  // the container is gone: the first session ends and frees the quota
  EXPECT_EQ(fetch(second->id).state, SessionState::scheduled);
}

}  // namespace
}  // namespace gpupool::testing
