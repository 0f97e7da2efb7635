// Two servers on one PostgreSQL database, each with its own store and services, racing: a
// quota is never passed and a top-up is never written twice, however their requests
// interleave (every write transaction takes the database's one write lock).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "postgres_server.hpp"
#include "services/accounts.hpp"
#include "services/session_service.hpp"
#include "store/postgres/postgres_store.hpp"

namespace gpupool {
namespace {

constexpr int kRequestsPerServer = 12;
constexpr int kMaxSessions = 3;

TEST(SharedDatabase, TwoServersRacingNeverPassAQuotaNorWriteATopUpTwice) {
  auto database = testing::PostgresDatabase::make();
  if (!database) GTEST_SKIP() << "no PostgreSQL server for this run (GPUPOOL_TEST_POSTGRES)";
  auto first = std::move(*PostgresStore::open(database->url()));
  auto second = std::move(*PostgresStore::open(database->url()));
  ManualClock clock(1'800'000'000'000);
  ASSERT_TRUE(first
                  ->upsert_image({"pytorch1.13-cpu-debian12-runtime", "gpupool/session:test",
                                  "pytorch", "1.13", "", "", "runtime", true, "available"})
                  .ok());
  auto user = *first->create_user("ada", "hash", false, clock.now());
  Quota quota;
  quota.subject_id = user.id;
  quota.max_sessions = kMaxSessions;
  ASSERT_TRUE(first->set_quota(quota).ok());

  services::SessionSettings settings;
  settings.prepaid = false;
  services::SessionService on_first(*first, clock, settings);
  services::SessionService on_second(*second, clock, settings);
  Node node;
  node.name = "node-1";
  node.address = "node-1.example";
  node.cpus = 64;
  node.memory_mb = 256 * 1024;
  node.port_min = 30000;
  node.port_max = 30099;
  node.simulated = true;
  SyncRequest report;
  report.node = node;
  ASSERT_TRUE(on_first.sync(report).ok());
  services::Accounts accounts_first(*first, false);
  services::Accounts accounts_second(*second, false);

  std::atomic<int> admitted{0};
  std::atomic<int> refused{0};
  std::atomic<int> top_ups_written{0};
  auto race = [&](services::SessionService& sessions, services::Accounts& accounts) {
    for (int i = 0; i < kRequestsPerServer; ++i) {
      SessionRequest request;
      request.image_tag = "pytorch1.13-cpu-debian12-runtime";
      request.gpus = 0;
      auto made = sessions.request_session(user, request);
      if (made) {
        ++admitted;
      } else {
        EXPECT_EQ(made.error().code, ErrorCode::quota_exceeded) << made.error().message;
        ++refused;
      }
      auto paid =
          accounts.top_up("ada", 1'000'000, "invoice-" + std::to_string(i), "", clock.now());
      ASSERT_TRUE(paid.ok()) << paid.error().message;
      if (paid->written) ++top_ups_written;
    }
  };
  std::thread one([&] { race(on_first, accounts_first); });
  std::thread other([&] { race(on_second, accounts_second); });
  one.join();
  other.join();

  EXPECT_EQ(admitted.load(), kMaxSessions);
  EXPECT_EQ(refused.load(), 2 * kRequestsPerServer - kMaxSessions);
  SessionFilter active;
  active.user_id = user.id;
  active.active_only = true;
  EXPECT_EQ(second->list_sessions(active)->size(), static_cast<std::size_t>(kMaxSessions));
  EXPECT_EQ(top_ups_written.load(), kRequestsPerServer) << "each key written once, by one server";
  EXPECT_EQ(*first->ledger_sum(user.id), kRequestsPerServer * 1'000'000);
}

}  // namespace
}  // namespace gpupool
