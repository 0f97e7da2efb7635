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

}  // namespace
}  // namespace gpupool::protocol
