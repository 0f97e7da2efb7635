// POST /api/v1/sessions with an Idempotency-Key: a retry gets the first request's session.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api_fixture.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;

class ApiIdempotency : public Api {
 protected:
  gateway::HttpReply request(const std::string& token, const std::string& body,
                             const std::string& key) {
    return call("POST", "/api/v1/sessions", body,
                {{"Authorization", "Bearer " + token}, {"Idempotency-Key", key}});
  }
  int sessions_of(const std::string& token) {
    return static_cast<int>(
        json::parse(as(token, "GET", "/api/v1/sessions").body)["sessions"].size());
  }
};

TEST_F(ApiIdempotency, ARetryWithTheSameKeyGetsTheSameSession) {
  auto token = token_for("alice");
  auto first = request(token, R"({"gpus": 1})", "retry-1");
  ASSERT_EQ(first.status, 201) << first.body;
  auto again = request(token, R"({ "gpus":1 })", "retry-1");  // spacing does not count
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body)["id"], json::parse(first.body)["id"]);
  EXPECT_TRUE(std::any_of(again.headers.begin(), again.headers.end(), [](const auto& header) {
    return header.first == "Idempotent-Replayed" && header.second == "true";
  }));
  EXPECT_EQ(sessions_of(token), 1);
  // Another key is another request.
  ASSERT_EQ(request(token, R"({"gpus": 1})", "retry-2").status, 201);
  EXPECT_EQ(sessions_of(token), 2);
}

TEST_F(ApiIdempotency, TheSameKeyWithAnotherRequestIsAConflict) {
  auto token = token_for("alice");
  ASSERT_EQ(request(token, R"({"gpus": 1})", "k").status, 201);
  auto other = request(token, R"({"gpus": 2})", "k");
  EXPECT_EQ(other.status, 409);
  EXPECT_NE(other.body.find("different request"), std::string::npos);
  EXPECT_EQ(sessions_of(token), 1);
}

TEST_F(ApiIdempotency, KeysAreEachUsersOwn) {
  auto alice = token_for("alice");
  auto bob = token_for("bob");
  auto first = request(alice, R"({"gpus": 1})", "shared-key");
  auto second = request(bob, R"({"gpus": 1})", "shared-key");
  ASSERT_EQ(second.status, 201) << "bob's key is not alice's";
  EXPECT_NE(json::parse(second.body)["id"], json::parse(first.body)["id"]);
}

TEST_F(ApiIdempotency, ARefusedRequestLeavesTheKeyUnused) {
  auto token = token_for("alice");
  EXPECT_EQ(request(token, R"({"gpus": 5})", "k").status, 400);  // more than the pool has
  EXPECT_EQ(request(token, R"({"gpus": 1})", "k").status, 201);
}

TEST_F(ApiIdempotency, KeysAreForgottenAfterADay) {
  auto token = token_for("alice");
  ASSERT_EQ(request(token, R"({"gpus": 1})", "daily").status, 201);
  clock_.advance(25LL * 3600 * 1000);
  token = token_for("alice");
  EXPECT_EQ(request(token, R"({"gpus": 1})", "daily").status, 201);
}

TEST_F(ApiIdempotency, MalformedKeysAreRefused) {
  auto token = token_for("alice");
  EXPECT_EQ(request(token, R"({"gpus": 1})", std::string(256, 'k')).status, 400);
  EXPECT_EQ(request(token, R"({"gpus": 1})", "with space").status, 400);
  EXPECT_EQ(sessions_of(token), 0);
}

}  // namespace
}  // namespace gpupool::testing
