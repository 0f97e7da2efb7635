#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api_fixture.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;

TEST_F(Api, AdminsManageGroupsAndQuotasAndUsersSeeTheirs) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  EXPECT_EQ(as(alice, "POST", "/api/v1/groups", R"({"name":"lab"})").status, 403);
  EXPECT_EQ(as(alice, "PUT", "/api/v1/quotas/user/alice", R"({"max_gpus":64})").status, 403);
  EXPECT_EQ(as(admin, "POST", "/api/v1/groups", R"({"name":"Lab"})").status, 201);
  EXPECT_EQ(as(admin, "POST", "/api/v1/groups", R"({"name":"lab"})").status, 409);
  EXPECT_EQ(
      as(admin, "PUT", "/api/v1/groups/lab/members", R"({"users":["alice","nobody"]})").status,
      400);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/groups/lab/members", R"({"users":["alice"]})").status, 200);
  EXPECT_EQ(
      as(admin, "PUT", "/api/v1/quotas/group/lab", R"({"max_sessions":1,"max_session_hours":12})")
          .status,
      200);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/quotas/user/alice", R"({"max_gpus":-1})").status, 400);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/quotas/user/nobody", R"({"max_gpus":1})").status, 404);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/quotas/team/lab", R"({"max_gpus":1})").status, 404);
  auto me = json::parse(as(alice, "GET", "/api/v1/me").body);
  EXPECT_EQ(me["groups"], json::array({"lab"}));
  EXPECT_EQ(me["quotas"][0]["name"], "lab");
  EXPECT_EQ(me["quotas"][0]["max_sessions"], 1);
  EXPECT_EQ(as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})").status, 201);
  auto refused = as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(error_code(refused), "quota_exceeded");
  auto listed = json::parse(as(admin, "GET", "/api/v1/quotas").body);
  EXPECT_EQ(listed["quotas"].size(), 1u);
}

TEST_F(Api, AdminsListUsersAndGroupsWithTheirMembersAndNobodyElseDoes) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  ASSERT_EQ(as(admin, "POST", "/api/v1/groups", R"({"name":"vision"})").status, 201);
  ASSERT_EQ(as(admin, "POST", "/api/v1/groups", R"({"name":"audio"})").status, 201);
  auto set = as(admin, "PUT", "/api/v1/groups/vision/members", R"({"users":["BOB","alice"]})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(json::parse(set.body)["members"], json::array({"bob", "alice"})) << "canonical names";

  auto users = as(admin, "GET", "/api/v1/users");
  ASSERT_EQ(users.status, 200) << users.body;
  std::map<std::string, json> by_name;
  auto user_list = json::parse(users.body)["users"];
  for (const auto& user : user_list) by_name[user["username"].get<std::string>()] = user;
  ASSERT_TRUE(by_name.contains("alice") && by_name.contains("bob")) << users.body;
  EXPECT_EQ(by_name["alice"]["groups"], json::array({"vision"}));
  EXPECT_EQ(by_name["root-admin"]["groups"], json::array());
  EXPECT_EQ(by_name["root-admin"]["admin"], true);
  EXPECT_FALSE(by_name["alice"].contains("password_hash"));

  auto groups = json::parse(as(admin, "GET", "/api/v1/groups").body)["groups"];
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0]["name"], "audio");
  EXPECT_EQ(groups[0]["members"], json::array());
  EXPECT_EQ(groups[1]["name"], "vision");
  EXPECT_EQ(groups[1]["members"], json::array({"alice", "bob"}));

  EXPECT_EQ(as(alice, "GET", "/api/v1/users").status, 403);
  EXPECT_EQ(as(alice, "GET", "/api/v1/groups").status, 403);
  EXPECT_EQ(as(admin, "DELETE", "/api/v1/users").status, 405);
}

TEST_F(Api, DrainedNodesTakeNoNewSessionsUntilUndrained) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  EXPECT_EQ(as(alice, "PUT", "/api/v1/nodes/node-1", R"({"drained":true})").status, 403);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/nodes/no-such-node", R"({"drained":true})").status, 404);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/nodes/node-1", R"({"drained":"yes"})").status, 400);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/nodes/node-1", R"({"drained":true})").status, 200);
  auto pool = json::parse(as(alice, "GET", "/api/v1/pool").body);
  EXPECT_EQ(pool["nodes"][0]["drained"], true);
  sync({});  // the agent's inventory does not undo the drain
  auto session = json::parse(as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})").body);
  EXPECT_EQ(session["state"], "queued");
  EXPECT_EQ(as(admin, "PUT", "/api/v1/nodes/node-1", R"({"drained":false})").status, 200);
  auto shown =
      json::parse(as(alice, "GET", "/api/v1/sessions/" + session["id"].get<std::string>()).body);
  EXPECT_EQ(shown["state"], "scheduled") << "undraining reschedules at once";
}

TEST_F(Api, AdminsSeeWhoHoldsEachGpuAndItsLatestReadingAndNobodyElseDoes) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  telemetry_.record("node-1", {{0, 73, 10 * 1024, 61, 312.4, 700}, {1}}, clock_.now());
  auto session = request(alice_, 1);
  ASSERT_EQ(session.gpu_indices.size(), 1u);
  // The agent's reading of the held GPU names the session's use of it (and a session that is
  // not on it, which is not shown).
  std::vector<GpuReading> readings = {{0, 73, 10 * 1024, 61, 312.4, 700}, {1}, {2}, {3}};
  readings[session.gpu_indices[0]].sessions = {{session.id, 3 * 1024, 40}, {"selsewhere", 1, 1}};
  telemetry_.record("node-1", readings, clock_.now());

  EXPECT_EQ(as(alice, "GET", "/api/v1/nodes").status, 403);
  auto reply = as(admin, "GET", "/api/v1/nodes");
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto node = json::parse(reply.body)["nodes"][0];
  EXPECT_EQ(node["name"], "node-1");
  EXPECT_EQ(node["state"], "ready");
  EXPECT_FALSE(node["telemetry_at"].is_null());
  ASSERT_EQ(node["gpus"].size(), 4u);
  auto first = node["gpus"][0];
  EXPECT_EQ(first["model"], "A100-80GB");
  EXPECT_EQ(first["simulated"], true);
  EXPECT_EQ(first["utilization_percent"], 73);
  EXPECT_EQ(first["memory_used_gb"], 10.0);
  EXPECT_EQ(first["temperature_c"], 61);
  EXPECT_EQ(first["power_w"], 312.0) << "whole watts";
  EXPECT_EQ(first["power_limit_w"], 700.0);
  EXPECT_TRUE(node["gpus"][1]["utilization_percent"].is_null()) << "not read: no figure";
  EXPECT_TRUE(node["gpus"][2]["temperature_c"].is_null()) << "no reading at all";
  for (const auto& gpu : node["gpus"]) {
    bool held = gpu["index"] == session.gpu_indices[0];
    ASSERT_EQ(gpu["sessions"].size(), held ? 1u : 0u) << gpu.dump();
    if (held) {
      EXPECT_EQ(gpu["sessions"][0], (json{{"id", session.id},
                                          {"user", "alice"},
                                          {"memory_used_gb", 3.0},
                                          {"utilization_percent", 40}}));
    }
  }

  // The owner sees what their processes use of their GPU.
  auto own = json::parse(as(alice, "GET", "/api/v1/sessions/" + session.id).body);
  EXPECT_EQ(own["gpu_use"], (json::array({{{"gpu", session.gpu_indices[0]},
                                           {"memory_used_gb", 3.0},
                                           {"utilization_percent", 40}}})));

  // A node silent past the limit is down, and its old readings are not shown as current.
  clock_.advance(scheduler::kNodeSilenceLimitMillis + 1000);
  EXPECT_TRUE(
      json::parse(as(alice, "GET", "/api/v1/sessions/" + session.id).body)["gpu_use"].empty());
  auto silent = json::parse(as(admin, "GET", "/api/v1/nodes").body)["nodes"][0];
  EXPECT_EQ(silent["state"], "down");
  EXPECT_TRUE(silent["gpus"][0]["utilization_percent"].is_null());
  EXPECT_FALSE(silent["telemetry_at"].is_null()) << "when it last reported is still shown";
}

TEST_F(Api, AdminsScrapeMetricsWithAnApiTokenAndNobodyElseDoes) {
  auto admin = token_for("root-admin");
  telemetry_.record("node-1", {{0, 50, 1024, 44, 100, 400}}, clock_.now());
  request(alice_, 1);
  EXPECT_EQ(call("GET", "/metrics").status, 401);
  EXPECT_EQ(as(token_for("alice"), "GET", "/metrics").status, 403);
  EXPECT_EQ(as(admin, "POST", "/metrics").status, 405);
  auto reply = as(admin, "GET", "/metrics");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(
      reply.body.find("gpupool_gpu_temperature_celsius{node=\"node-1\",gpu=\"0\",uuid=\"GPU-0\""
                      ",model=\"A100-80GB\",simulated=\"true\"} 44\n"),
      std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find("gpupool_sessions{state=\"scheduled\"} 1\n"), std::string::npos);
  EXPECT_NE(reply.body.find("gpupool_node_up{node=\"node-1\"} 1\n"), std::string::npos);
}

TEST_F(Api, AnAdminsLiveViewSendsTheGpusReadingsWhenAFigureChanges) {
  auto [cookie, csrf] = login_as("root-admin");
  telemetry_.record("node-1", {{0, 10, 0, 40, 60, 400}}, clock_.now());
  auto reply = call("GET", "/api/v1/events", "", {{"Cookie", cookie}});
  ASSERT_TRUE(reply.stream);
  auto first = reply.stream->next();
  ASSERT_TRUE(first);
  EXPECT_NE(first->find("event: nodes\ndata: {"), std::string::npos) << *first;
  EXPECT_NE(first->find("\"temperature_c\":40"), std::string::npos) << *first;

  telemetry_.record("node-1", {{0, 10, 0, 40, 60.2, 400}}, clock_.now() + 1000);
  auto same = reply.stream->next();
  ASSERT_TRUE(same);
  EXPECT_EQ(*same, "") << "the same figures (to the watt) are not sent again";

  telemetry_.record("node-1", {{0, 95, 0, 71, 380, 400}}, clock_.now() + 2000);
  auto hotter = reply.stream->next();
  ASSERT_TRUE(hotter);
  EXPECT_NE(hotter->find("event: nodes"), std::string::npos);
  EXPECT_NE(hotter->find("\"temperature_c\":71"), std::string::npos) << *hotter;
  EXPECT_EQ(hotter->find("event: sessions"), std::string::npos) << "only what changed";

  auto alice = token_for("alice");
  auto users_view = as(alice, "GET", "/api/v1/events");
  ASSERT_TRUE(users_view.stream);
  auto users_first = users_view.stream->next();
  ASSERT_TRUE(users_first);
  EXPECT_EQ(users_first->find("event: nodes"), std::string::npos) << "admins only";
}

}  // namespace
}  // namespace gpupool::testing
