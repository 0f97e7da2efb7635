#include <gtest/gtest.h>

#include "metering/meter.hpp"

namespace gpupool::metering {
namespace {

constexpr UnixMillis kStart = 1'800'000'000'000;
constexpr std::int64_t kCredit = kMicrosPerCredit;

Session running_since(UnixMillis started, std::int64_t rate_micros_per_hour,
                      const std::string& model = "A100-80GB", double gpus = 1) {
  Session session;
  session.state = SessionState::running;
  session.started_at = started;
  session.billed_gpu_model = model;
  session.billed_gpus = gpus;
  session.rate_micros_per_hour = rate_micros_per_hour;
  return session;
}

TEST(Meter, WholeGpusPayTheModelsPriceEachAndSharesTheirFractionOfTheMemory) {
  std::vector<Price> prices{{"A100-80GB", 2 * kCredit}, {"H100-80GB", 5 * kCredit}};
  SessionRequest whole;
  whole.gpus = 3;
  EXPECT_EQ(billed_gpus(whole, 80 * 1024), 3);
  EXPECT_EQ(hourly_rate_micros(prices, "A100-80GB", 3), 6 * kCredit);
  SessionRequest share;
  share.gpu_memory_mb = 20 * 1024;
  EXPECT_DOUBLE_EQ(billed_gpus(share, 80 * 1024), 0.25);
  EXPECT_EQ(hourly_rate_micros(prices, "H100-80GB", 0.25), 1'250'000);
  EXPECT_EQ(hourly_rate_micros(prices, "T4-16GB", 1), 0) << "a model with no price is free";
}

TEST(Meter, OnlyRunningTimeIsBilledInWholeSeconds) {
  Session queued;
  queued.rate_micros_per_hour = 3600 * kCredit;
  EXPECT_EQ(billed_seconds(queued, kStart), 0) << "never started";
  EXPECT_EQ(cost_micros(queued, kStart), 0);

  auto session = running_since(kStart, 3600 * kCredit);  // one credit a second
  EXPECT_EQ(billed_seconds(session, kStart + 999), 0);
  EXPECT_EQ(cost_micros(session, kStart + 2'500), 2 * kCredit);
  session.state = SessionState::ended;
  session.ended_at = kStart + 10'000;
  EXPECT_EQ(cost_micros(session, kStart + 3'600'000), 10 * kCredit) << "nothing after the end";
  EXPECT_EQ(billed_seconds(session, kStart - 5'000), 10) << "ended: the clock does not matter";
}

TEST(Meter, TimeAContainerWasDownIsNotBilled) {
  Session session;
  session.started_at = 1'000'000;
  session.down_millis = 30'000;  // an earlier restart
  EXPECT_EQ(metering::billed_seconds(session, 1'000'000 + 100'000), 70);
  session.down_since = 1'000'000 + 80'000;  // down now, being started again
  EXPECT_EQ(metering::billed_seconds(session, 1'000'000 + 100'000), 50);
  session.ended_at = 1'000'000 + 80'000;  // and it ended when it went down
  EXPECT_EQ(metering::billed_seconds(session, 1'000'000 + 500'000), 50);
}

TEST(Meter, RoundsDownToTheMicroCreditAndNeverOverflows) {
  auto cheap = running_since(kStart, 1);  // a micro-credit an hour
  EXPECT_EQ(cost_micros(cheap, kStart + 3'599'000), 0);
  EXPECT_EQ(cost_micros(cheap, kStart + 3'600'000), 1);
  // 64 GPUs at the highest price for ten years: far past 2^63 before the division.
  auto costly = running_since(kStart, 64 * 10'000 * kCredit);
  UnixMillis ten_years = 10LL * 365 * 24 * 3600 * 1000;
  EXPECT_EQ(cost_micros(costly, kStart + ten_years), 64 * 10'000 * kCredit * 24 * 3650);
}

TEST(Meter, UsageAddsUpGpuHoursAndCostsPerModel) {
  auto a = running_since(kStart, 2 * kCredit, "A100-80GB", 2);
  a.ended_at = kStart + 1'800'000;  // half an hour on 2 GPUs
  auto b = running_since(kStart, 500'000, "A100-80GB", 0.25);
  b.ended_at = kStart + 3'600'000;  // an hour on a quarter GPU
  auto c = running_since(kStart, 0, "T4-16GB", 1);
  c.ended_at = kStart + 7'200'000;
  Session never_started;
  never_started.billed_gpu_model = "A100-80GB";
  auto usage = usage_by_model({a, b, c, never_started}, kStart + 9'000'000);
  ASSERT_EQ(usage.size(), 2u);
  EXPECT_EQ(usage[0].gpu_model, "A100-80GB");
  EXPECT_DOUBLE_EQ(usage[0].gpu_hours, 1.25);
  EXPECT_EQ(usage[0].cost_micros, 1 * kCredit + 500'000);
  EXPECT_EQ(usage[1].gpu_model, "T4-16GB");
  EXPECT_DOUBLE_EQ(usage[1].gpu_hours, 2);
  EXPECT_EQ(usage[1].cost_micros, 0);
}

}  // namespace
}  // namespace gpupool::metering
