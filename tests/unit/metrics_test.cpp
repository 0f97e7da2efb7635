#include <gtest/gtest.h>

#include "api/metrics.hpp"
#include "core/histogram.hpp"

namespace gpupool::api {
namespace {

using nlohmann::json;

TEST(Metrics, LabelValuesEscapeBackslashesQuotesAndNewlines) {
  EXPECT_EQ(prometheus_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(prometheus_label("gpu-1"), "gpu-1");
}

TEST(Metrics, GpusReportTheirReadingsInBaseUnitsAndLeaveOutWhatTheyCannotRead) {
  json gpu_read = {
      {"index", 0},
      {"uuid", "GPU-a"},
      {"model", "H100"},
      {"simulated", false},
      {"sessions",
       {{{"id", "s1"}, {"user", "ann"}, {"memory_used_gb", 3.0}, {"utilization_percent", 40}},
        {{"id", "s2"},
         {"user", "bob"},
         {"memory_used_gb", nullptr},
         {"utilization_percent", nullptr}}}},
      {"utilization_percent", 73},
      {"memory_used_gb", 10.0},
      {"temperature_c", 61},
      {"power_w", 312.0},
      {"power_limit_w", 700.0},
      {"ecc_uncorrected_errors", 3}};
  json gpu_unread = {{"index", 1},
                     {"uuid", "GPU-b"},
                     {"model", "H100"},
                     {"simulated", false},
                     {"sessions", json::array()},
                     {"utilization_percent", nullptr},
                     {"memory_used_gb", nullptr},
                     {"temperature_c", 33},
                     {"power_w", nullptr},
                     {"power_limit_w", nullptr}};
  json document = {
      {"nodes", {{{"name", "gpu\"1"}, {"state", "ready"}, {"gpus", {gpu_read, gpu_unread}}}}}};
  auto text = prometheus_exposition(document, {{"running", 1}, {"queued", 2}}, 2, {{"ann", "lab"}});
  const std::string labels = R"(node="gpu\"1",gpu="0",uuid="GPU-a",model="H100",simulated="false")";
  EXPECT_NE(text.find("gpupool_node_up{node=\"gpu\\\"1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("gpupool_gpu_allocated{" + labels + "} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("gpupool_gpu_utilization_ratio{" + labels + "} 0.73\n"), std::string::npos);
  EXPECT_NE(text.find("gpupool_gpu_memory_used_bytes{" + labels + "} 10737418240\n"),
            std::string::npos);
  EXPECT_NE(text.find("gpupool_gpu_power_watts{" + labels + "} 312\n"), std::string::npos);
  EXPECT_NE(text.find("gpupool_gpu_ecc_uncorrected_errors_total{" + labels + "} 3\n"),
            std::string::npos);
  EXPECT_EQ(text.find("gpupool_gpu_ecc_uncorrected_errors_total{node=\"gpu\\\"1\",gpu=\"1\""),
            std::string::npos);
  EXPECT_NE(text.find("gpupool_gpu_temperature_celsius{node=\"gpu\\\"1\",gpu=\"1\""),
            std::string::npos);
  EXPECT_EQ(text.find("gpupool_gpu_power_watts{node=\"gpu\\\"1\",gpu=\"1\""), std::string::npos)
      << "no figure, no sample";
  EXPECT_NE(text.find("# TYPE gpupool_gpu_power_watts gauge\n"), std::string::npos);
  EXPECT_NE(text.find("gpupool_sessions{state=\"queued\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("gpupool_queue_length 2\n"), std::string::npos);
  // Each session's own use of the GPU it shares.
  EXPECT_NE(text.find("gpupool_session_gpu_memory_used_bytes{" + labels +
                      ",session=\"s1\",user=\"ann\",group=\"lab\"} 3221225472\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("gpupool_session_gpu_utilization_ratio{" + labels +
                      ",session=\"s1\",user=\"ann\",group=\"lab\"} 0.4\n"),
            std::string::npos);
  EXPECT_EQ(text.find("session=\"s2\""), std::string::npos) << "no figure, no sample";
}

TEST(Metrics, RunningSessionsShowWhatTheyHoldHowLongTheyHaveBeenUnusedAndWhatTheyCost) {
  SessionFigures figures;
  figures.now = 1'000'000'000;
  Session session;
  session.id = "s1";
  session.username = "ann";
  session.node = "gpu-1";
  session.billed_gpu_model = "A100-80GB";
  session.billed_gpus = 0.25;
  session.rate_micros_per_hour = 500'000;
  session.idle_warned_at = figures.now - 1000;
  Session unmeasured = session;
  unmeasured.id = "s2";
  unmeasured.idle_warned_at = 0;
  figures.running = {session, unmeasured};
  figures.group_of_user = {{"ann", "lab"}};
  figures.idle_since = {{"s1", figures.now - 90'000}};
  figures.reclaimed = {{"A100-80GB", 3, 1.5}};
  figures.ledger_totals = {{LedgerKind::top_up, 100'000'000}, {LedgerKind::charge, -2'500'000}};
  figures.oldest_queued_at = figures.now - 600'000;
  auto text = session_families(figures);
  const std::string labels =
      R"(session="s1",user="ann",group="lab",model="A100-80GB",node="gpu-1")";
  EXPECT_NE(text.find("gpupool_session_gpus{" + labels + "} 0.25\n"), std::string::npos) << text;
  EXPECT_NE(text.find("gpupool_session_idle_seconds{" + labels + "} 90\n"), std::string::npos);
  EXPECT_EQ(text.find("gpupool_session_idle_seconds{session=\"s2\""), std::string::npos)
      << "not measured yet: no sample";
  EXPECT_NE(text.find("gpupool_session_idle_warned{" + labels + "} 1\n"), std::string::npos);
  EXPECT_NE(text.find("gpupool_session_cost_credits_per_hour{" + labels + "} 0.5\n"),
            std::string::npos);
  EXPECT_NE(text.find("gpupool_queue_oldest_wait_seconds 600\n"), std::string::npos);
  EXPECT_NE(text.find("gpupool_idle_reclaimed_gpus_total{model=\"A100-80GB\"} 1.5\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE gpupool_idle_reclaimed_sessions_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("gpupool_ledger_credits_total{kind=\"charge\"} 2.5\n"), std::string::npos);
  EXPECT_NE(text.find("gpupool_ledger_credits_total{kind=\"adjustment\"} 0\n"), std::string::npos);
}

TEST(Metrics, HistogramsAreCumulativeWithInfinityEqualToTheCount) {
  Histogram histogram({0.1, 1});
  for (double value : {0.05, 0.1, 0.5, 3.0}) histogram.observe(value);
  auto text = histogram.exposition("x_seconds", "X.");
  EXPECT_EQ(text,
            "# HELP x_seconds X.\n# TYPE x_seconds histogram\n"
            "x_seconds_bucket{le=\"0.1\"} 2\nx_seconds_bucket{le=\"1\"} 3\n"
            "x_seconds_bucket{le=\"+Inf\"} 4\nx_seconds_sum 3.65\nx_seconds_count 4\n");
}

}  // namespace
}  // namespace gpupool::api
