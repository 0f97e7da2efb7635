// GPU servers joining and syncing through the API: join tokens, node credentials bound to
// their node, the versioned sync protocol, and what a node may and may not say.
#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "api_fixture.hpp"
#include "protocol/sync_json.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;

class AgentApi : public Api {
 protected:
  // A new join token's text, made by the admin.
  std::string join_token(const std::string& body = "{}") {
    auto reply = as(admin_token_, "POST", "/api/v1/join-tokens", body);
    EXPECT_EQ(reply.status, 201) << reply.body;
    return json::parse(reply.body)["token"].get<std::string>();
  }

  gateway::HttpReply join(const std::string& token, const std::string& node) {
    return call("POST", "/api/v1/agent/join", json{{"token", token}, {"node", node}}.dump());
  }

  std::string credential_for(const std::string& node) {
    auto reply = join(join_token(), node);
    EXPECT_EQ(reply.status, 201) << reply.body;
    return json::parse(reply.body)["credential"].get<std::string>();
  }

  Node remote_node(const std::string& name) const {
    Node remote = node();
    remote.name = name;
    remote.jupyter_host = "127.0.0.1";  // what a node must not make the gateway connect to
    return remote;
  }

  gateway::HttpReply node_sync(const std::string& credential, const SyncRequest& request,
                               api::Api* api = nullptr) {
    return call("POST", "/api/v1/agent/sync", protocol::sync_request_to_json(request),
                {{"Authorization", "Bearer " + credential}}, api);
  }

  std::vector<Node> stored_nodes() {
    auto nodes = store_->list_nodes();
    EXPECT_TRUE(nodes.ok());
    return nodes.ok() ? *nodes : std::vector<Node>{};
  }

  // The node's state as the API lists it; "" when it is not listed.
  std::string node_state(const std::string& name) {
    auto nodes = json::parse(as(admin_token_, "GET", "/api/v1/nodes").body)["nodes"];
    for (const auto& listed : nodes) {
      if (listed["name"] == name) return listed["state"].get<std::string>();
    }
    return "";
  }

  std::string admin_token_ = token_for("root-admin");
};

TEST_F(AgentApi, AJoinTokenBuysOneNodeCredentialThatSyncsItsNode) {
  auto credential = credential_for("gpu-7");
  remote_ = "10.9.0.7";
  auto reply = node_sync(credential, {remote_node("gpu-7"), {}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto response = protocol::sync_response_from_json(reply.body);
  ASSERT_TRUE(response.ok()) << response.error().message;

  auto nodes = json::parse(as(admin_token_, "GET", "/api/v1/nodes").body)["nodes"];
  bool found = false;
  for (const auto& listed : nodes) found = found || listed["name"] == "gpu-7";
  EXPECT_TRUE(found) << nodes.dump();
  // The gateway reaches its sessions where its agent connects from, not where it says.
  for (const auto& stored : stored_nodes()) {
    if (stored.name == "gpu-7") {
      EXPECT_EQ(stored.jupyter_host, "10.9.0.7");
    }
  }
}

TEST_F(AgentApi, AdminsSeeEachNodesEngineAndHowItHandsOutGpusAndUsersDoNot) {
  auto credential = credential_for("gpu-7");
  Node reported = remote_node("gpu-7");
  reported.engine = "Podman 5.4.2 (API 1.41)";
  reported.gpu_devices = "cdi";
  ASSERT_EQ(node_sync(credential, {reported, {}}).status, 200);
  auto listed = [&] {
    auto nodes = json::parse(as(admin_token_, "GET", "/api/v1/nodes").body)["nodes"];
    for (const auto& node : nodes) {
      if (node["name"] == "gpu-7") return node;
    }
    return json();
  };
  EXPECT_EQ(listed()["engine"], "Podman 5.4.2 (API 1.41)");
  EXPECT_EQ(listed()["gpu_devices"], "cdi");
  // A node whose engine changed (an upgrade, a restart on the other driver) says so.
  reported.engine = "Docker 28.2.2 (API 1.50)";
  reported.gpu_devices = "nvidia";
  ASSERT_EQ(node_sync(credential, {reported, {}}).status, 200);
  EXPECT_EQ(listed()["engine"], "Docker 28.2.2 (API 1.50)");
  EXPECT_EQ(listed()["gpu_devices"], "nvidia");
  auto pool = json::parse(as(token_for("alice"), "GET", "/api/v1/pool").body);
  ASSERT_FALSE(pool["nodes"].empty());
  for (const auto& node : pool["nodes"]) {
    EXPECT_FALSE(node.contains("engine") || node.contains("gpu_devices")) << node.dump();
  }
  // Older agents say nothing of it.
  reported.engine.clear();
  reported.gpu_devices.clear();
  ASSERT_EQ(node_sync(credential, {reported, {}}).status, 200);
  EXPECT_TRUE(listed()["engine"].is_null() && listed()["gpu_devices"].is_null()) << listed().dump();
}

TEST_F(AgentApi, ANodeCredentialSpeaksForItsOwnNodeOnly) {
  auto credential = credential_for("gpu-7");
  auto other = node_sync(credential, {remote_node("node-1"), {}});
  EXPECT_EQ(other.status, 403) << other.body;
  // Nor does a user's token, or a guess, open the sync.
  EXPECT_EQ(node_sync(token_for("alice"), {remote_node("gpu-7"), {}}).status, 401);
  EXPECT_EQ(node_sync("not-a-credential", {remote_node("gpu-7"), {}}).status, 401);
  EXPECT_EQ(call("POST", "/api/v1/agent/sync", "{}").status, 401);
}

TEST_F(AgentApi, ATokenIsSpentExpiresAndIsRevoked) {
  auto once = join_token();
  EXPECT_EQ(join(once, "gpu-1").status, 201);
  EXPECT_EQ(join(once, "gpu-2").status, 401);

  auto expiring = join_token(R"({"valid_hours": 1})");
  clock_.advance(3600 * 1000 + 1);
  EXPECT_EQ(join(expiring, "gpu-3").status, 401);

  auto revoked = join_token(R"({"uses": -1})");
  auto id = revoked.substr(0, revoked.find('.'));
  EXPECT_EQ(as(admin_token_, "DELETE", "/api/v1/join-tokens/" + id).status, 200);
  EXPECT_EQ(join(revoked, "gpu-4").status, 401);

  // The right id with a wrong secret is no token at all.
  auto many = join_token(R"({"uses": -1})");
  EXPECT_EQ(join(many.substr(0, many.find('.') + 1) + "guessed", "gpu-5").status, 401);
  EXPECT_EQ(join(many, "gpu-5").status, 201);
  EXPECT_EQ(join(many, "gpu-6").status, 201);

  auto listed = json::parse(as(admin_token_, "GET", "/api/v1/join-tokens").body)["join_tokens"];
  std::set<std::string> states;
  for (const auto& token : listed) {
    states.insert(token["state"].get<std::string>());
    EXPECT_FALSE(token.contains("token")) << "a token is shown once, when made";
  }
  EXPECT_EQ(states, (std::set<std::string>{"used up", "expired", "revoked", "live"}));
}

TEST_F(AgentApi, AJoinedNameCannotBeTakenOverUntilAnAdminRemovesTheNode) {
  auto first = credential_for("gpu-7");
  ASSERT_EQ(node_sync(first, {remote_node("gpu-7"), {}}).status, 200);
  EXPECT_EQ(node_state("gpu-7"), "ready");
  auto token = join_token();
  auto second = join(token, "gpu-7");
  EXPECT_EQ(second.status, 409) << second.body;
  // The refused join did not spend the token.
  EXPECT_EQ(as(admin_token_, "DELETE", "/api/v1/nodes/gpu-7").status, 200);
  EXPECT_EQ(node_sync(first, {remote_node("gpu-7"), {}}).status, 401);
  EXPECT_EQ(node_state("gpu-7"), "removed") << "at once, not a minute later when it is silent";
  EXPECT_EQ(join(token, "gpu-7").status, 201);
  EXPECT_EQ(node_state("gpu-7"), "ready") << "joined again";
}

TEST_F(AgentApi, AnAgentTooOldOrTooNewIsToldPlainly) {
  auto credential = credential_for("gpu-7");
  json old = json::parse(protocol::sync_request_to_json({remote_node("gpu-7"), {}}));
  old["protocol"] = 0;
  auto reply =
      call("POST", "/api/v1/agent/sync", old.dump(), {{"Authorization", "Bearer " + credential}});
  EXPECT_EQ(reply.status, 426);
  EXPECT_NE(reply.body.find("upgrade gpupool on node gpu-7"), std::string::npos) << reply.body;
  old["protocol"] = protocol::kSyncProtocol + 1;
  reply =
      call("POST", "/api/v1/agent/sync", old.dump(), {{"Authorization", "Bearer " + credential}});
  EXPECT_EQ(reply.status, 426);
  EXPECT_NE(reply.body.find("upgrade the server first"), std::string::npos) << reply.body;
}

TEST_F(AgentApi, AnAgentOneVersionBehindIsAnsweredInItsOwnVersionAndNeverHeld) {
  auto credential = credential_for("gpu-7");
  SyncRequest request{remote_node("gpu-7"), {}};
  auto first = protocol::sync_response_from_json(node_sync(credential, request).body);
  ASSERT_TRUE(first.ok());
  request.held_state = first->state;  // what a long poll would be held on
  request.wait_millis = 30'000;
  auto old = json::parse(protocol::sync_request_to_json(request, protocol::kSyncProtocol - 1));
  EXPECT_FALSE(old.contains("held_state") || old.contains("wait_millis")) << old.dump();
  auto reply =
      call("POST", "/api/v1/agent/sync", old.dump(), {{"Authorization", "Bearer " + credential}});
  ASSERT_FALSE(reply.pending) << "protocol 1 has no long poll";
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto answer = json::parse(reply.body);
  EXPECT_EQ(answer["protocol"], protocol::kSyncProtocol - 1);
  EXPECT_FALSE(answer.contains("state")) << reply.body;
  EXPECT_TRUE(protocol::sync_response_from_json(reply.body).ok());

  // Admins see which agents an upgrade has still to reach.
  auto listed = [this] {
    auto nodes = json::parse(as(admin_token_, "GET", "/api/v1/nodes").body)["nodes"];
    for (const auto& node : nodes)
      if (node["name"] == "gpu-7") return node;
    return json();
  };
  EXPECT_EQ(listed()["agent_protocol"], protocol::kSyncProtocol - 1);
  EXPECT_EQ(listed()["agent_outdated"], true);
  ASSERT_EQ(node_sync(credential, {remote_node("gpu-7"), {}}).status, 200);
  EXPECT_EQ(listed()["agent_protocol"], protocol::kSyncProtocol);
  EXPECT_EQ(listed()["agent_outdated"], false);
}

TEST_F(AgentApi, ARefusedVersionIsToldWhichVersionsTheServerSpeaks) {
  auto credential = credential_for("gpu-7");
  json newer = json::parse(protocol::sync_request_to_json({remote_node("gpu-7"), {}}));
  newer["protocol"] = protocol::kSyncProtocol + 1;
  auto reply =
      call("POST", "/api/v1/agent/sync", newer.dump(), {{"Authorization", "Bearer " + credential}});
  ASSERT_EQ(reply.status, 426);
  auto body = json::parse(reply.body);
  EXPECT_EQ(body["protocols"]["oldest"], protocol::kOldestSyncProtocol);
  EXPECT_EQ(body["protocols"]["newest"], protocol::kSyncProtocol);
}

TEST_F(AgentApi, MalformedReportsAreRefusedWithoutHarm) {
  auto credential = credential_for("gpu-7");
  json good = json::parse(protocol::sync_request_to_json({remote_node("gpu-7"), {}}));
  std::vector<json> bad;
  for (auto mutate : std::vector<std::function<void(json&)>>{
           [](json& j) { j["node"]["gpus"][0]["index"] = 3; },
           [](json& j) { j["node"]["port_min"] = 70000; },
           [](json& j) { j["node"]["cpus"] = "many"; },
           [](json& j) {
             j["observed"] = json::array({{{"session_id", "s1"}, {"phase", "odd"}}});
           },
           [](json& j) {
             j["observed"] = json::array({{{"phase", "running"}}});
           },
           [](json& j) {
             j["node"]["labels"] = {{"k", 1}};
           },
           [](json& j) { j["surplus"] = true; },
           [](json& j) { j["node"]["gpus"] = json::array({json::array()}); },
       }) {
    json changed = good;
    mutate(changed);
    auto reply = call("POST", "/api/v1/agent/sync", changed.dump(),
                      {{"Authorization", "Bearer " + credential}});
    EXPECT_EQ(reply.status, 400) << changed.dump() << " → " << reply.body;
  }
  for (const auto& stored : stored_nodes()) EXPECT_NE(stored.name, "gpu-7");
}

TEST_F(AgentApi, ASessionPlacedOnARemoteNodeGoesToThatNodeOnly) {
  // node-1 (the fixture's) is drained: the request can only land on gpu-7.
  ASSERT_TRUE(store_->set_node_drained("node-1", true).ok());
  auto credential = credential_for("gpu-7");
  ASSERT_EQ(node_sync(credential, {remote_node("gpu-7"), {}}).status, 200);
  auto created = as(token_for("alice"), "POST", "/api/v1/sessions", R"({"gpus":1})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto id = json::parse(created.body)["id"].get<std::string>();
  auto reply = node_sync(credential, {remote_node("gpu-7"), {}});
  auto response = protocol::sync_response_from_json(reply.body);
  ASSERT_TRUE(response.ok()) << reply.body;
  ASSERT_EQ(response->desired.size(), 1u);
  EXPECT_EQ(response->desired[0].session_id, id);
  EXPECT_TRUE(sync({}).desired.empty());

  // Its report moves the session; another node's report of it moves nothing.
  SessionState before = fetch(id).state;
  auto other = credential_for("gpu-8");
  ASSERT_EQ(
      node_sync(other, {remote_node("gpu-8"), {observed(id, ObservedPhase::failed, "x")}}).status,
      200);
  EXPECT_EQ(fetch(id).state, before);
  ASSERT_EQ(
      node_sync(credential, {remote_node("gpu-7"), {observed(id, ObservedPhase::running)}}).status,
      200);
  EXPECT_EQ(fetch(id).state, SessionState::running);
}

// An Api whose syncs are held (long poll), as `gpupool server` runs it.
class LongPollApi : public AgentApi {
 protected:
  LongPollApi() {
    sessions_->on_desired_change([this] { waits_.changed(); });
  }

  static api::ApiSettings held_settings(services::TelemetryBoard& telemetry,
                                        services::SyncWaits& waits) {
    auto held = settings(telemetry);
    held.sync_waits = &waits;
    return held;
  }

  // Starts the held reply's wait; true once it is ready to be answered (5 s at most).
  bool becomes_ready(gateway::PendingReply& pending, std::chrono::milliseconds within) {
    auto signal = std::make_shared<std::promise<void>>();
    auto ready = signal->get_future();
    auto once = std::make_shared<std::once_flag>();
    pending.start([signal, once] { std::call_once(*once, [&] { signal->set_value(); }); });
    return ready.wait_for(within) == std::future_status::ready;
  }

  services::SyncWaits waits_{
      [this](const std::set<std::string>& nodes) { return sessions_->desired_states(nodes); },
      [this] { return store_->change_count(); }};
  api::Api held_api_{held_settings(telemetry_, waits_), *auth_, *sessions_, *store_, clock_};
};

TEST_F(LongPollApi, ASyncIsHeldUntilItsNodesDesiredStateChanges) {
  ASSERT_TRUE(store_->set_node_drained("node-1", true).ok());  // sessions land on gpu-7
  auto credential = credential_for("gpu-7");
  SyncRequest request{remote_node("gpu-7"), {}};
  auto first = node_sync(credential, request, &held_api_);
  ASSERT_EQ(first.status, 200) << first.body;
  auto known = protocol::sync_response_from_json(first.body);
  ASSERT_TRUE(known.ok());
  ASSERT_FALSE(known->state.empty());

  // Holding what the server would answer: held, for at most the wait it asked for.
  request.held_state = known->state;
  request.wait_millis = 20'000;
  auto held = node_sync(credential, request, &held_api_);
  ASSERT_TRUE(held.pending) << held.status << " " << held.body;
  EXPECT_EQ(held.pending->wait(), std::chrono::milliseconds(20'000));
  // Another node's report, or nothing, does not end it.
  ASSERT_EQ(node_sync(credential_for("gpu-8"), {remote_node("gpu-8"), {}}, &held_api_).status, 200);
  EXPECT_FALSE(becomes_ready(*held.pending, std::chrono::milliseconds(300)));

  // A session placed on gpu-7 does, and the answer carries it.
  auto created = as(token_for("alice"), "POST", "/api/v1/sessions", R"({"gpus":1})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_TRUE(becomes_ready(*held.pending, std::chrono::seconds(5)));
  auto answer = held.pending->reply();
  ASSERT_EQ(answer.status, 200) << answer.body;
  auto changed = protocol::sync_response_from_json(answer.body);
  ASSERT_TRUE(changed.ok());
  ASSERT_EQ(changed->desired.size(), 1u);
  EXPECT_EQ(changed->desired[0].session_id, json::parse(created.body)["id"]);
  EXPECT_NE(changed->state, known->state);

  // An agent holding a stale state is answered at once; so is one that asks for no wait.
  auto stale = node_sync(credential, request, &held_api_);
  EXPECT_FALSE(stale.pending);
  EXPECT_EQ(stale.status, 200);
  request.held_state = changed->state;
  request.wait_millis = 0;
  EXPECT_FALSE(node_sync(credential, request, &held_api_).pending);
  // The longest hold is bounded whatever the agent asks.
  request.wait_millis = protocol::kMaxSyncWaitMillis;
  auto longest = node_sync(credential, request, &held_api_);
  ASSERT_TRUE(longest.pending);
  EXPECT_LE(longest.pending->wait(), std::chrono::seconds(30));
}

TEST_F(LongPollApi, AnAgentOneProtocolOlderIsAnsweredAtOnce) {
  auto credential = credential_for("gpu-7");
  // Protocol 1 had no long poll: no held state, no wait, and no state in the answer.
  json old = json::parse(protocol::sync_request_to_json({remote_node("gpu-7"), {}}));
  old["protocol"] = 1;
  old.erase("held_state");
  old.erase("wait_millis");
  auto reply = call("POST", "/api/v1/agent/sync", old.dump(),
                    {{"Authorization", "Bearer " + credential}}, &held_api_);
  EXPECT_FALSE(reply.pending);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_TRUE(protocol::sync_response_from_json(reply.body).ok());
}

}  // namespace
}  // namespace gpupool::testing
