// Per-session GPU use on the wire: agent to server, bounded and checked like the rest.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "protocol/sync_json.hpp"

namespace gpupool::protocol {
namespace {

using nlohmann::json;

SyncRequest request_with_use() {
  SyncRequest request;
  request.node.name = "gpu-1";
  GpuReading reading;
  reading.index = 0;
  reading.utilization_percent = 80;
  reading.sessions = {{"s1", 3072, 55}, {"s2", std::nullopt, std::nullopt}};
  reading.processes = {{4242, 3072, 55}};
  request.gpu_readings = {reading};
  return request;
}

TEST(SyncReadings, EachSessionsUseOfAGpuTravelsButHostProcessesDoNot) {
  auto text = sync_request_to_json(request_with_use());
  EXPECT_EQ(text.find("4242"), std::string::npos) << "host pids stay on the node";
  auto parsed = sync_request_from_json(text);
  ASSERT_TRUE(parsed) << parsed.error().message;
  const auto& sessions = parsed->gpu_readings.at(0).sessions;
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions[0].session_id, "s1");
  EXPECT_EQ(sessions[0].memory_used_mb, 3072);
  EXPECT_EQ(sessions[0].utilization_percent, 55);
  EXPECT_FALSE(sessions[1].memory_used_mb);
  EXPECT_FALSE(sessions[1].utilization_percent);
}

TEST(SyncReadings, MalformedUseIsRefusedByName) {
  for (const auto& bad :
       {json{{"session_id", "s1"}, {"utilization_percent", 101}}, json{{"memory_used_mb", 1}},
        json{{"session_id", std::string(65, 'x')}}, json("s1")}) {
    json message = json::parse(sync_request_to_json(request_with_use()));
    message["gpu_readings"][0]["sessions"] = json::array({bad});
    auto parsed = sync_request_from_json(message.dump());
    ASSERT_FALSE(parsed) << bad.dump();
    EXPECT_NE(parsed.error().message.find("sessions"), std::string::npos) << parsed.error().message;
  }
  json message = json::parse(sync_request_to_json(request_with_use()));
  message["gpu_readings"][0]["sessions"] = json::array();
  for (int i = 0; i < 257; ++i)
    message["gpu_readings"][0]["sessions"].push_back({{"session_id", "s"}});
  EXPECT_FALSE(sync_request_from_json(message.dump())) << "at most 256 sessions on one GPU";
}

SyncRequest request_with_activity() {
  SyncRequest request;
  request.node.name = "gpu-1";
  ObservedSession observed{"s1", ObservedPhase::running, "", ""};
  SessionActivity activity;
  activity.cpu_cores = 1.25;
  activity.gpu_utilization_percent = 40;
  activity.kernels = 2;
  activity.busy_kernels = 1;
  activity.terminals = 1;
  activity.jupyter_quiet_millis = 9000;
  observed.activity = activity;
  request.observed = {observed, {"s2", ObservedPhase::running, "", ""}};
  return request;
}

TEST(SyncActivity, ASessionsUseTravelsAndUnknownsStayUnknown) {
  auto parsed = sync_request_from_json(sync_request_to_json(request_with_activity()));
  ASSERT_TRUE(parsed) << parsed.error().message;
  const auto& activity = parsed->observed.at(0).activity;
  ASSERT_TRUE(activity.has_value());
  EXPECT_DOUBLE_EQ(*activity->cpu_cores, 1.25);
  EXPECT_EQ(activity->gpu_utilization_percent, 40);
  EXPECT_EQ(activity->kernels, 2);
  EXPECT_EQ(activity->busy_kernels, 1);
  EXPECT_EQ(activity->terminals, 1);
  EXPECT_EQ(activity->jupyter_quiet_millis, 9000);
  EXPECT_FALSE(activity->ssh_connections) << "not read: unknown, not zero";
  EXPECT_FALSE(parsed->observed.at(1).activity) << "not measured yet";
}

TEST(SyncActivity, OutOfRangeActivityIsMalformedSinceSessionsAreReclaimedOnIt) {
  for (const auto& bad : {json{{"cpu_cores", -1}}, json{{"gpu_utilization_percent", 101}},
                          json{{"busy_kernels", "one"}}, json{{"jupyter_quiet_millis", -5}},
                          json{{"ssh_connections", 1.5}}, json("busy")}) {
    json message = json::parse(sync_request_to_json(request_with_activity()));
    message["observed"][0]["activity"] = bad;
    auto parsed = sync_request_from_json(message.dump());
    ASSERT_FALSE(parsed) << bad.dump();
    EXPECT_NE(parsed.error().message.find("activity"), std::string::npos) << parsed.error().message;
  }
}

TEST(SyncImageChecks, OrdersAndReportsTravelAndOnlyWhenThereAreSome) {
  SyncResponse response;
  response.image_checks = {{"pytorch2.7-cuda11.8-runtime", {"reg:5000/x@sha256:1", "ci", "pw"}}};
  auto orders = sync_response_from_json(sync_response_to_json(response, 2));
  ASSERT_TRUE(orders.ok()) << orders.error().message;
  ASSERT_EQ(orders->image_checks.size(), 1u);
  EXPECT_EQ(orders->image_checks[0].tag, "pytorch2.7-cuda11.8-runtime");
  EXPECT_EQ(orders->image_checks[0].image.registry_password, "pw");

  SyncRequest request;
  request.node.name = "gpu-1";
  // A server from before checks refuses fields it does not know: none is sent without one.
  EXPECT_FALSE(json::parse(sync_request_to_json(request, 2)).contains("image_checks"));
  ImageCheckReport report{"pytorch2.7-cuda11.8-runtime", "reg:5000/x@sha256:1"};
  report.python = "3.11.2";
  report.torch_cuda = "11.8";
  report.sshd = true;
  request.image_checks = {report};
  // Only when found: a server from before it refuses the field.
  EXPECT_FALSE(
      json::parse(sync_request_to_json(request, 2))["image_checks"][0].contains("code_server"));
  request.image_checks[0].code_server = "4.89.1";
  auto text = sync_request_to_json(request, 2);
  auto parsed = sync_request_from_json(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->image_checks.size(), 1u);
  EXPECT_EQ(parsed->image_checks[0].python, "3.11.2");
  EXPECT_EQ(parsed->image_checks[0].torch_cuda, "11.8");
  EXPECT_TRUE(parsed->image_checks[0].sshd);
  EXPECT_EQ(parsed->image_checks[0].code_server, "4.89.1");

  auto with = [&](const std::string& key, json value) {
    auto message = json::parse(text);
    message["image_checks"][0][key] = std::move(value);
    return sync_request_from_json(message.dump());
  };
  EXPECT_FALSE(with("python", std::string(65, '3')).ok());
  EXPECT_FALSE(with("code_server", std::string(65, '4')).ok());
  EXPECT_FALSE(with("sshd", "yes").ok());
  EXPECT_FALSE(with("tag", "").ok());
  EXPECT_FALSE(with("shell", "rm -rf /").ok());
}

}  // namespace
}  // namespace gpupool::protocol
