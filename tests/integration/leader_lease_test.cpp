// The lease of servers sharing one PostgreSQL database: one leads at a time, the next takes
// over when it goes, and a leader that lost the lease without noticing is fenced off before
// its work runs.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "postgres_server.hpp"
#include "store/postgres/postgres_store.hpp"

namespace gpupool {
namespace {

bool within(std::chrono::milliseconds limit, const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

TEST(LeaderLease, OneLeadsTheNextTakesOverAndAStaleLeaderIsFenced) {
  auto database = testing::PostgresDatabase::make();
  if (!database) GTEST_SKIP() << "no PostgreSQL server for this run (GPUPOOL_TEST_POSTGRES)";
  auto first = std::move(*PostgresStore::open(database->url()));
  auto second = std::move(*PostgresStore::open(database->url()));
  EXPECT_TRUE(first->leads()) << "a store that does not compete leads (one server alone)";

  std::atomic<int> first_led{0};
  first->lead_when_possible("first", [&] { ++first_led; });
  ASSERT_TRUE(within(std::chrono::seconds(5), [&] { return first->leads(); }));
  second->lead_when_possible("second", nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));  // three tries of its own
  EXPECT_FALSE(second->leads()) << "one leader at a time";
  EXPECT_EQ(first_led.load(), 1);
  auto leader = first->leader();
  ASSERT_TRUE(leader.ok());
  EXPECT_EQ(leader->second, "first");
  std::int64_t first_epoch = leader->first;

  // As if the first had been cut off and the lease taken over without its noticing: a newer
  // epoch in the table. Its next transaction finds it out before its work runs.
  auto stolen = second->claim_leadership("elsewhere");
  ASSERT_TRUE(stolen.ok());
  EXPECT_EQ(*stolen, first_epoch + 1);
  EXPECT_TRUE(first->leads()) << "it has not noticed yet";
  bool led_inside = true;
  ASSERT_TRUE(first
                  ->in_transaction([&]() -> Status {
                    led_inside = first->leads();
                    return {};
                  })
                  .ok());
  EXPECT_FALSE(led_inside) << "fenced: a stale leader's work sees it does not lead";
  EXPECT_FALSE(first->leads());

  // Its lease's connection went with its stepping down: the second takes the lead.
  ASSERT_TRUE(within(std::chrono::seconds(5), [&] { return second->leads(); }));
  EXPECT_EQ(second->leader()->second, "second");
  EXPECT_GT(second->leader()->first, *stolen);
  first->stop();
  first.reset();
  EXPECT_TRUE(second->leads());
}

TEST(LeaderLease, TheLeaderGoingLetsAnotherLeadWithinASecond) {
  auto database = testing::PostgresDatabase::make();
  if (!database) GTEST_SKIP() << "no PostgreSQL server for this run (GPUPOOL_TEST_POSTGRES)";
  auto first = std::move(*PostgresStore::open(database->url()));
  auto second = std::move(*PostgresStore::open(database->url()));
  first->lead_when_possible("first", nullptr);
  ASSERT_TRUE(within(std::chrono::seconds(5), [&] { return first->leads(); }));
  second->lead_when_possible("second", nullptr);
  auto gone = std::chrono::steady_clock::now();
  first.reset();  // its connections close, as a killed process's would
  ASSERT_TRUE(within(std::chrono::seconds(3), [&] { return second->leads(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - gone, std::chrono::seconds(1));
}

}  // namespace
}  // namespace gpupool
