// The agent's HttpSyncChannel against a server that only speaks an older sync protocol: it
// speaks down by itself (and stops long-polling), rather than failing every sync.
#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "agent/http_sync_channel.hpp"
#include "core/json_input.hpp"
#include "gateway/http_server.hpp"
#include "protocol/sync_json.hpp"

namespace gpupool::agent {
namespace {

using namespace std::chrono_literals;

// A server of the previous release: protocol 1 only, and says so to anything newer.
class OlderServer : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<gateway::HttpServer>([this](const gateway::HttpExchange& call) {
      int version = protocol::sync_protocol_of(call.body);
      {
        std::lock_guard lock(mutex_);
        versions_.push_back(version);
      }
      if (version > 1) {
        return gateway::HttpReply{
            426,
            "application/json",
            R"({"error":{"code":"upgrade_required","message":"newer than this server's 1"},)"
            R"("protocols":{"oldest":1,"newest":1}})",
            {}};
      }
      SyncResponse answer;
      answer.release = {"s1"};
      return gateway::HttpReply{
          200, "application/json", protocol::sync_response_to_json(answer, 1), {}};
    });
    port_ = server_->listen("127.0.0.1", 0).value();
    server_->start(1);
  }
  void TearDown() override { server_->stop(); }

  std::vector<int> versions() {
    std::lock_guard lock(mutex_);
    return versions_;
  }

  std::unique_ptr<gateway::HttpServer> server_;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  std::vector<int> versions_;
};

TEST_F(OlderServer, ANewerAgentSpeaksDownToIt) {
  HttpSyncChannel channel({{false, "", "127.0.0.1", port_}, "credential"});
  EXPECT_TRUE(channel.long_polls());
  SyncRequest request;
  request.node.name = "gpu-1";
  request.wait_millis = 5000;
  auto answer = channel.sync(request);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->release, (std::vector<std::string>{"s1"}));
  EXPECT_FALSE(channel.long_polls()) << "protocol 1 has no long poll";
  ASSERT_TRUE(channel.sync(request).ok());
  EXPECT_EQ(versions(), (std::vector<int>{protocol::kSyncProtocol, 1, 1}));
}

TEST_F(OlderServer, AnAgentCannotSpeakBelowWhatItKnows) {
  server_->stop();
  server_ = std::make_unique<gateway::HttpServer>([](const gateway::HttpExchange&) {
    return gateway::HttpReply{
        426,
        "application/json",
        R"({"error":{"code":"upgrade_required","message":"too new"},"protocols":{"oldest":0,"newest":0}})",
        {}};
  });
  port_ = server_->listen("127.0.0.1", 0).value();
  server_->start(1);
  HttpSyncChannel channel({{false, "", "127.0.0.1", port_}, "credential"});
  auto answer = channel.sync({});
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, ErrorCode::forbidden);
  EXPECT_NE(answer.error().message.find("too new"), std::string::npos) << answer.error().message;
}

}  // namespace
}  // namespace gpupool::agent
