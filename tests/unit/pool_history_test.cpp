// The pool over time and the portal's charts: what a sample counts, how a week is averaged,
// GPU-hours and spend split by day, the samples kept, and who may read which series.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api_fixture.hpp"
#include "model/price.hpp"
#include "services/pool_history.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;

constexpr UnixMillis kHour = 3'600'000;

TEST(PoolHistory, ASampleCountsLiveGpusWhatRunningSessionsHoldAndFreshUtilisation) {
  Node live;
  live.name = "a";
  live.gpus.resize(4);
  Node silent;
  silent.name = "b";
  silent.gpus.resize(8);
  Session running;
  running.state = SessionState::running;
  running.billed_gpus = 1.5;
  Session queued;
  queued.state = SessionState::queued;
  queued.billed_gpus = 2;
  std::map<std::string, services::NodeReadings> readings{
      {"a", {1000, {{0, 50}, {1, 100}, {2, std::nullopt}, {3, 250}}}}, {"b", {1000, {{0, 100}}}}};
  auto sample =
      services::sample_pool({live, silent}, {true, false}, {running, queued}, readings, 500, 2000);
  EXPECT_EQ(sample.at, 2000);
  EXPECT_DOUBLE_EQ(sample.gpus, 4);
  EXPECT_DOUBLE_EQ(sample.allocated, 1.5);
  EXPECT_DOUBLE_EQ(sample.busy, 0.5 + 1 + 1) << "a reading over 100% counts as 100%";
  EXPECT_DOUBLE_EQ(services::sample_pool({live}, {true}, {}, readings, 1500, 2000).busy, 0)
      << "stale readings say nothing";
}

TEST(PoolHistory, AWeekIsDrawnFromAveragesOverTenMinutes) {
  std::vector<PoolSample> samples;
  for (int minute = 0; minute < 20; ++minute)
    samples.push_back({minute * 60'000, 8, minute < 10 ? 2.0 : 4.0, 1});
  samples.push_back({45 * 60'000, 8, 8, 8});  // after a gap
  auto averaged = services::average_samples(samples, 10 * 60'000);
  ASSERT_EQ(averaged.size(), 3u);
  EXPECT_DOUBLE_EQ(averaged[0].allocated, 2);
  EXPECT_DOUBLE_EQ(averaged[1].allocated, 4);
  EXPECT_EQ(averaged[2].at, 40 * 60'000) << "empty windows are left out";
  EXPECT_DOUBLE_EQ(averaged[2].busy, 8);
}

TEST(PoolHistory, UsageIsSplitAtMidnightAndRunningSessionsCountUpToNow) {
  UnixMillis midnight = 1'800'000'000'000 - 1'800'000'000'000 % (24 * kHour);
  Session across;
  across.started_at = midnight - 2 * kHour;
  across.ended_at = midnight + kHour;
  across.billed_gpus = 2;
  across.rate_micros_per_hour = 10 * kMicrosPerCredit;
  Session running;
  running.started_at = midnight + 2 * kHour;
  running.billed_gpus = 1;
  running.rate_micros_per_hour = 1 * kMicrosPerCredit;
  auto days = services::daily_usage({across, running}, 3, midnight + 5 * kHour);
  ASSERT_EQ(days.size(), 3u);
  EXPECT_EQ(days[2].day, midnight);
  EXPECT_DOUBLE_EQ(days[1].gpu_hours, 4);
  EXPECT_EQ(days[1].spend_micros, 20 * kMicrosPerCredit);
  EXPECT_DOUBLE_EQ(days[2].gpu_hours, 2 + 3);
  EXPECT_EQ(days[2].spend_micros, (10 + 3) * kMicrosPerCredit);
  EXPECT_DOUBLE_EQ(days[0].gpu_hours, 0);
}

using Charts = Api;

TEST_F(Charts, AdminsReadThePoolOverADayOrAWeekAndUsersTheirOwnUsage) {
  auto nine_days_ago = clock_.now() - 9 * 24 * kHour;
  ASSERT_TRUE(store_->add_pool_sample({nine_days_ago, 4, 1, 1}, 0).ok());
  Session session = request(alice_, 1);
  sync({observed(session.id, ObservedPhase::running)});
  for (int i = 0; i < 3; ++i) {
    clock_.advance(60'000);
    ASSERT_TRUE(services::record_pool_sample(*sessions_, telemetry_, *store_, clock_.now()).ok());
  }
  EXPECT_EQ(store_->pool_samples(0, clock_.now() + 1)->size(), 3u) << "older than 8 days: gone";

  std::string admin = token_for("root-admin");
  auto day = as(admin, "GET", "/api/v1/charts/pool?range=day");
  ASSERT_EQ(day.status, 200) << day.body;
  auto series = json::parse(day.body);
  ASSERT_EQ(series["at"].size(), 4u) << "three stored, and the pool now";
  EXPECT_EQ(series["gpus"][0], 4);
  EXPECT_EQ(series["allocated"][0], 1);
  EXPECT_EQ(series["at"][3], clock_.now() / 1000);
  EXPECT_EQ(json::parse(as(admin, "GET", "/api/v1/charts/pool?range=week").body)["at"].size(), 2u);
  EXPECT_EQ(as(admin, "GET", "/api/v1/charts/pool?range=year").status, 400);

  std::string alice = token_for("alice");
  EXPECT_EQ(as(alice, "GET", "/api/v1/charts/pool").status, 403);
  auto usage = as(alice, "GET", "/api/v1/charts/usage?days=7");
  ASSERT_EQ(usage.status, 200) << usage.body;
  auto own = json::parse(usage.body);
  ASSERT_EQ(own["gpu_hours"].size(), 7u);
  EXPECT_NEAR(own["gpu_hours"][6].get<double>(), 3.0 / 60, 1e-9) << "3 min of 1 GPU today";
  EXPECT_EQ(as(alice, "GET", "/api/v1/charts/usage?user=bob").status, 403);
  EXPECT_EQ(as(alice, "GET", "/api/v1/charts/usage?days=0").status, 400);
  EXPECT_EQ(as(alice, "GET", "/api/v1/charts/usage?days=367").status, 400);
  EXPECT_EQ(as(admin, "GET", "/api/v1/charts/usage?user=alice").status, 200);
}

}  // namespace
}  // namespace gpupool::testing
