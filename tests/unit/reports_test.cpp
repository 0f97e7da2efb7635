// Statements and efficiency reports: calendar months, what a statement lists and sums, how
// allocated and used GPU-hours are split at a month's edge, the GPU use metered at syncs, and
// who may read what through the API (JSON and CSV).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api_fixture.hpp"
#include "model/price.hpp"
#include "services/gpu_use_meter.hpp"
#include "services/usage_reports.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;
using services::month_period;

constexpr UnixMillis kHour = 3'600'000;

TEST(UsageReports, MonthsAreUtcCalendarMonths) {
  auto november = month_period("2026-11");
  ASSERT_TRUE(november.ok());
  EXPECT_EQ(format_rfc3339(november->from), "2026-11-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(november->to), "2026-12-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(month_period("2026-12")->to), "2027-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(month_period("2028-02")->to), "2028-03-01T00:00:00.000Z");
  for (const char* bad : {"", "2026-13", "2026-00", "1999-12", "2026-1", "2026/11", "2026-11-01",
                          "+026-11", "2026--1"})
    EXPECT_FALSE(month_period(bad).ok()) << bad;
  EXPECT_EQ(services::month_of(1'800'000'000'000).label, "2027-01");
}

Session ran(const std::string& id, const std::string& user, std::int64_t user_id, double gpus,
            UnixMillis start, UnixMillis end, double busy_seconds) {
  Session session;
  session.id = id;
  session.username = user;
  session.user_id = user_id;
  session.billed_gpus = gpus;
  session.billed_gpu_model = "A100-80GB";
  session.node = "node-1";
  session.started_at = start;
  session.ended_at = end;
  session.state = end != 0 ? SessionState::ended : SessionState::running;
  session.gpu_busy_seconds = busy_seconds;
  return session;
}

TEST(UsageReports, AStatementListsTheMonthsEntriesWithTheGpuHoursEachChargePaidFor) {
  auto period = *month_period("2027-01");
  Session session = ran("s1", "alice", 1, 2, period.from + kHour, period.from + 4 * kHour, 0);
  std::vector<LedgerEntry> entries{
      {1, 1, period.from, LedgerKind::top_up, 100'000'000, "", "k1", "=HYPERLINK(\"x\")"},
      {2, 1, period.from + 4 * kHour, LedgerKind::charge, -60'000'000, "s1", "", ""},
      {3, 1, period.from + 5 * kHour, LedgerKind::adjustment, -5'000'000, "", "k2",
       "refund, late"}};
  auto statement =
      services::build_statement(period, "alice", false, entries, {{"s1", session}}, {{1, "alice"}});
  EXPECT_EQ(statement.top_ups_micros, 100'000'000);
  EXPECT_EQ(statement.charges_micros, 60'000'000);
  EXPECT_EQ(statement.adjustments_micros, -5'000'000);
  ASSERT_EQ(statement.by_model.size(), 1u);
  EXPECT_DOUBLE_EQ(statement.by_model[0].gpu_hours, 6.0) << "2 GPUs × 3 h";
  EXPECT_EQ(statement.lines[1].node, "node-1");
  std::string csv = services::statement_csv(statement);
  EXPECT_NE(
      csv.find("2027-01-01T04:00:00.000Z,alice,charge,s1,A100-80GB,node-1,6.0000,-60.000000,"),
      std::string::npos)
      << csv;
  EXPECT_NE(csv.find(",\"'=HYPERLINK(\"\"x\"\")\"\r\n"), std::string::npos)
      << "a note is never a formula";
  EXPECT_NE(csv.find(",\"refund, late\"\r\n"), std::string::npos);
}

TEST(UsageReports, EfficiencySplitsSessionsAtTheMonthsEdgeAndCountsReclaims) {
  auto period = *month_period("2027-01");
  // 10 h before the month and 10 h into it, half its GPU-time busy: 10 GPU-h in, 5 used.
  Session across =
      ran("s1", "alice", 1, 1, period.from - 10 * kHour, period.from + 10 * kHour, 10 * 3600.0);
  Session reclaimed = ran("s2", "bob", 2, 4, period.from + kHour, period.from + 3 * kHour, 0);
  reclaimed.end_reason = EndReason::idle_reclaimed;
  Session running = ran("s3", "bob", 2, 0.5, period.from + 2 * kHour, 0, 0);
  Session queued = ran("s4", "bob", 2, 1, 0, 0, 0);
  std::vector<LedgerEntry> charges{
      {1, 1, period.from + 10 * kHour, LedgerKind::charge, -20'000'000, "s1", "", ""},
      {2, 2, period.from + 3 * kHour, LedgerKind::charge, -8'000'000, "s2", "", ""}};
  auto report = services::build_efficiency(period, {across, reclaimed, running, queued}, charges,
                                           {{1, {"vision"}}, {2, {"vision", "nlp"}}},
                                           period.from + 4 * kHour);
  EXPECT_DOUBLE_EQ(report.pool.allocated_gpu_hours, 10 + 8 + 1);
  EXPECT_DOUBLE_EQ(report.pool.used_gpu_hours, 5);
  EXPECT_EQ(report.pool.idle_reclaimed_sessions, 1);
  EXPECT_DOUBLE_EQ(report.pool.idle_reclaimed_gpus, 4);
  ASSERT_EQ(report.groups.size(), 2u);
  EXPECT_EQ(report.groups[0].name, "nlp");
  EXPECT_DOUBLE_EQ(report.groups[0].allocated_gpu_hours, 9);
  EXPECT_DOUBLE_EQ(report.groups[1].allocated_gpu_hours, 19) << "vision: both users";
  ASSERT_EQ(report.revenue_by_model.size(), 1u);
  EXPECT_EQ(report.revenue_by_model[0].micros, 28'000'000);
  EXPECT_DOUBLE_EQ(report.revenue_by_model[0].gpu_hours, 20 + 8) << "what the charges paid for";
  std::string csv = services::efficiency_csv(report);
  EXPECT_NE(csv.find("pool,(pool),19.0000,5.0000,1,4.0000,,\r\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("node,node-1,,,,,28.0000,28.000000\r\n"), std::string::npos) << csv;
}

TEST(GpuUseMeter, CountsUtilisationTimesGpusOverTimeAndWritesInBatches) {
  services::GpuUseMeter meter;
  meter.sample("s1", 2, 50, 0);  // the first reading starts the count
  meter.sample("s1", 2, 50, 10'000);
  EXPECT_EQ(meter.take("s1", 10'000, false), 0) << "not due for 5 min";
  meter.sample("s1", 2, std::nullopt, 20'000);  // no reading: nothing counted
  meter.sample("s1", 2, 100, 3'600'000);        // after a silence: at most a minute counted
  EXPECT_DOUBLE_EQ(meter.take("s1", 3'600'000, false), 2 * 0.5 * 10 + 2 * 1.0 * 60);
  EXPECT_EQ(meter.take("s1", 3'600'000, false), 0) << "taken";
  meter.sample("s1", 2, 100, 3'601'000);
  EXPECT_DOUBLE_EQ(meter.take("s1", 3'601'000, true), 2) << "all of it when it ends";
  EXPECT_EQ(meter.take("s1", 3'700'000, true), 0) << "forgotten";
}

using Reports = Api;

TEST_F(Reports, SyncsMeterAGpuSessionsUseIntoTheStore) {
  Session session = request(alice_, 2);
  ObservedSession busy = observed(session.id, ObservedPhase::running);
  busy.activity = SessionActivity{1.0, 75, 0, 0, 0, std::nullopt, 0};
  sync({busy});
  for (int i = 0; i < 4; ++i) {
    clock_.advance(30'000);
    sync({busy});
  }
  EXPECT_EQ(fetch(session.id).gpu_busy_seconds, 0) << "written every 5 min, or at the end";
  ASSERT_TRUE(sessions_->stop_session(alice_, session.id).ok());
  sync({});
  EXPECT_DOUBLE_EQ(fetch(session.id).gpu_busy_seconds, 2 * 0.75 * 120);
}

TEST_F(Reports, UsersReadTheirOwnStatementsAndAdminsAnyonesAndTheEfficiencyReport) {
  ASSERT_TRUE(store_->set_price({"A100-80GB", 3600 * kMicrosPerCredit, clock_.now()}).ok());
  LedgerEntry top_up{0,
                     alice_.id,
                     clock_.now() - 40 * 24 * kHour,
                     LedgerKind::top_up,
                     500 * kMicrosPerCredit,
                     "",
                     "k1",
                     "december"};
  ASSERT_TRUE(store_->add_ledger_entry(top_up).ok());
  auto lab = store_->create_group("lab", clock_.now());
  ASSERT_TRUE(lab.ok() && store_->set_group_members(lab->id, {alice_.id, bob_.id}).ok());
  Session session = request(alice_, 1);
  sync({observed(session.id, ObservedPhase::running)});
  clock_.advance(100'000);
  ASSERT_TRUE(sessions_->stop_session(alice_, session.id).ok());
  sync({});

  std::string alice = token_for("alice");
  auto own = as(alice, "GET", "/api/v1/statements/2027-01");
  ASSERT_EQ(own.status, 200) << own.body;
  auto statement = json::parse(own.body);
  EXPECT_EQ(statement["opening_balance"], 500) << "the December top-up";
  EXPECT_EQ(statement["charges"], 100);
  EXPECT_EQ(statement["closing_balance"], 400);
  ASSERT_EQ(statement["lines"].size(), 1u);
  EXPECT_EQ(statement["lines"][0]["session"], session.id);
  auto december = json::parse(as(alice, "GET", "/api/v1/statements/2026-12").body);
  EXPECT_EQ(december["top_ups"], 500);
  EXPECT_EQ(december["closing_balance"], 500);

  EXPECT_EQ(as(alice, "GET", "/api/v1/statements/2027-01?user=bob").status, 403);
  EXPECT_EQ(as(alice, "GET", "/api/v1/statements/2027-01?group=lab").status, 403);
  EXPECT_EQ(as(alice, "GET", "/api/v1/statements/2027-01?user=alice").status, 200);
  EXPECT_EQ(as(alice, "GET", "/api/v1/statements/2027-13").status, 400);
  EXPECT_EQ(as(alice, "GET", "/api/v1/statements/2027-01?format=xml").status, 400);
  EXPECT_EQ(as(alice, "GET", "/api/v1/reports/efficiency").status, 403);
  auto csv = as(alice, "GET", "/api/v1/statements/2027-01?format=csv");
  EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8");
  EXPECT_TRUE(csv.body.starts_with("at,user,kind,session,")) << csv.body;

  std::string admin = token_for("root-admin");
  auto group = json::parse(as(admin, "GET", "/api/v1/statements/2027-01?group=lab").body);
  EXPECT_EQ(group["scope"], "group");
  EXPECT_EQ(group["by_member"][0]["user"], "alice");
  EXPECT_FALSE(group.contains("opening_balance")) << "a group has no balance";
  EXPECT_EQ(as(admin, "GET", "/api/v1/statements/2027-01?group=nobody").status, 404);
  EXPECT_EQ(as(admin, "GET", "/api/v1/statements/2027-01?user=bob&group=lab").status, 400);
  auto efficiency = as(admin, "GET", "/api/v1/reports/efficiency?month=2027-01");
  ASSERT_EQ(efficiency.status, 200) << efficiency.body;
  auto report = json::parse(efficiency.body);
  EXPECT_NEAR(report["pool"]["allocated_gpu_hours"].get<double>(), 100.0 / 3600, 1e-6);
  EXPECT_EQ(report["groups"][0]["name"], "lab");
  EXPECT_EQ(report["revenue_by_node"][0]["node"], "node-1");
  EXPECT_EQ(report["revenue_by_node"][0]["charged"], 100);
}

}  // namespace
}  // namespace gpupool::testing
