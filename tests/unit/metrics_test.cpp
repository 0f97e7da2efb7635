#include <gtest/gtest.h>

#include "api/metrics.hpp"

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
      {"power_limit_w", 700.0}};
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
  auto text = prometheus_exposition(document, {{"running", 1}, {"queued", 2}}, 2);
  const std::string labels = R"(node="gpu\"1",gpu="0",uuid="GPU-a",model="H100",simulated="false")";
  EXPECT_NE(text.find("gpupool_node_up{node=\"gpu\\\"1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("gpupool_gpu_allocated{" + labels + "} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("gpupool_gpu_utilization_ratio{" + labels + "} 0.73\n"), std::string::npos);
  EXPECT_NE(text.find("gpupool_gpu_memory_used_bytes{" + labels + "} 10737418240\n"),
            std::string::npos);
  EXPECT_NE(text.find("gpupool_gpu_power_watts{" + labels + "} 312\n"), std::string::npos);
  EXPECT_NE(text.find("gpupool_gpu_temperature_celsius{node=\"gpu\\\"1\",gpu=\"1\""),
            std::string::npos);
  EXPECT_EQ(text.find("gpupool_gpu_power_watts{node=\"gpu\\\"1\",gpu=\"1\""), std::string::npos)
      << "no figure, no sample";
  EXPECT_NE(text.find("# TYPE gpupool_gpu_power_watts gauge\n"), std::string::npos);
  EXPECT_NE(text.find("gpupool_sessions{state=\"queued\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("gpupool_queue_length 2\n"), std::string::npos);
  // Each session's own use of the GPU it shares.
  EXPECT_NE(text.find("gpupool_session_gpu_memory_used_bytes{" + labels +
                      ",session=\"s1\",user=\"ann\"} 3221225472\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("gpupool_session_gpu_utilization_ratio{" + labels +
                      ",session=\"s1\",user=\"ann\"} 0.4\n"),
            std::string::npos);
  EXPECT_EQ(text.find("session=\"s2\""), std::string::npos) << "no figure, no sample";
}

}  // namespace
}  // namespace gpupool::api
