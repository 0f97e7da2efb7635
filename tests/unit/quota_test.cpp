// Quotas: the pure check, and the service's atomic check-and-insert under concurrency.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "scheduler/quota_check.hpp"
#include "service_fixture.hpp"

namespace gpupool::testing {
namespace {

SessionRequest gpus(int count) {
  SessionRequest request;
  request.gpus = count;
  return request;
}

TEST(QuotaCheck, CountsSessionsGpusAndSharedMemory) {
  Quota quota;
  quota.subject_name = "alice";
  quota.max_gpus = 2;
  quota.max_sessions = 3;
  quota.max_gpu_memory_mb = 20 * 1024;
  SessionRequest share = gpus(1);
  share.gpu_memory_mb = 12 * 1024;
  auto use = scheduler::use_of({gpus(1), share});
  EXPECT_EQ(use.gpus, 1);
  EXPECT_EQ(use.sessions, 2);
  EXPECT_EQ(use.gpu_memory_mb, 12 * 1024);
  EXPECT_TRUE(scheduler::check_quota(quota, use, gpus(1)).ok());
  auto too_many = scheduler::check_quota(quota, use, gpus(2));
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code, ErrorCode::quota_exceeded);
  EXPECT_EQ(too_many.error().message, "user alice may hold 2 GPUs at once; 1 in use, 2 asked");
  EXPECT_FALSE(scheduler::check_quota(quota, use, share).ok()) << "12 + 12 GB > 20 GB";
  EXPECT_FALSE(
      scheduler::check_quota(quota, scheduler::use_of({gpus(0), gpus(0), gpus(0)}), gpus(0)).ok());
}

TEST(QuotaCheck, CapsSessionHours) {
  Quota quota;
  quota.max_session_hours = 8;
  SessionRequest long_one = gpus(1);
  long_one.max_hours = 9;
  EXPECT_FALSE(scheduler::check_quota(quota, {}, long_one).ok());
  Quota other;
  other.max_session_hours = 4;
  EXPECT_EQ(scheduler::session_hours_cap({quota, other}), 4.0);
}

using Quotas = ServiceFixture;

Quota quota_for(QuotaScope scope, std::int64_t subject_id) {
  Quota quota;
  quota.scope = scope;
  quota.subject_id = subject_id;
  return quota;
}

TEST_F(Quotas, ParallelRequestsAtQuotaMinusOneNeverExceedIt) {
  Quota quota = quota_for(QuotaScope::user, alice_.id);
  quota.max_gpus = 2;
  ASSERT_TRUE(store_->set_quota(quota).ok());
  request(alice_, 1);  // quota − 1
  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto result = sessions_->request_session(alice_, gpus(1));
      if (result) {
        ++accepted;
      } else if (result.error().code == ErrorCode::quota_exceeded) {
        ++refused;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(accepted.load(), 1);
  EXPECT_EQ(refused.load(), 7);
}

TEST_F(Quotas, GroupQuotaCountsEveryMember) {
  auto group = *store_->create_group("lab", clock_.now());
  ASSERT_TRUE(store_->set_group_members(group.id, {alice_.id, bob_.id}).ok());
  Quota quota = quota_for(QuotaScope::group, group.id);
  quota.max_sessions = 2;
  ASSERT_TRUE(store_->set_quota(quota).ok());
  request(alice_, 1);
  request(bob_, 1);
  auto refused = sessions_->request_session(alice_, gpus(1));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "group lab may have 2 sessions at once and has 2");
  EXPECT_TRUE(sessions_->request_session(admin_, gpus(1)).ok()) << "non-members are not limited";
}

TEST_F(Quotas, EndedSessionsNoLongerCount) {
  Quota quota = quota_for(QuotaScope::user, alice_.id);
  quota.max_sessions = 1;
  ASSERT_TRUE(store_->set_quota(quota).ok());
  auto first = request(alice_, 1);
  EXPECT_FALSE(sessions_->request_session(alice_, gpus(1)).ok());
  ASSERT_TRUE(sessions_->stop_session(alice_, first.id).ok());
  sync({});  // the container is gone: the session ends
  EXPECT_TRUE(sessions_->request_session(alice_, gpus(1)).ok());
}

TEST_F(Quotas, FairShareCountsTheGroupsUseBeforeTheUsers) {
  auto group = *store_->create_group("busy", clock_.now());
  ASSERT_TRUE(store_->set_group_members(group.id, {alice_.id, bob_.id}).ok());
  auto heavy = request(bob_, 4);  // fills the node for two hours
  sync({observed(heavy.id, ObservedPhase::running)});
  clock_.advance(2 * 3'600'000);
  auto alice = request(alice_, 1);  // no use of her own, but her group's is 8 GPU-hours
  clock_.advance(1000);
  auto outsider = request(admin_, 1);  // later, and in no group
  EXPECT_EQ(fetch(outsider.id).reason, "waiting for 1 free GPU on one node; position 1");
  EXPECT_EQ(fetch(alice.id).reason, "waiting for 1 free GPU on one node; position 2");
}

TEST_F(Quotas, SessionHoursCapBecomesTheDefaultTimeLimit) {
  Quota quota = quota_for(QuotaScope::user, alice_.id);
  quota.max_session_hours = 6;
  ASSERT_TRUE(store_->set_quota(quota).ok());
  auto session = request(alice_, 1);
  EXPECT_EQ(session.request.max_hours, 6.0);
}

}  // namespace
}  // namespace gpupool::testing
