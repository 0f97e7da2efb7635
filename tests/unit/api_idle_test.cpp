// Idle reclaim in the REST API: who may keep or exempt a session and set policies, what a
// session's view says of its use, and the 400s for malformed policies.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api_fixture.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;

constexpr UnixMillis kMinute = 60 * 1000;

TEST_F(Api, ASessionsViewSaysHowItIsUsedAndWhenItWouldBeReclaimed) {
  auto alice = token_for("alice");
  auto id = json::parse(as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})").body)["id"];
  ObservedSession report{id, ObservedPhase::running, "", ""};
  sync({report});
  EXPECT_TRUE(
      json::parse(
          as(alice, "GET", "/api/v1/sessions/" + id.get<std::string>()).body)["idle"]["signals"]
          .is_null())
      << "not measured yet";
  SessionActivity activity;
  activity.cpu_cores = 0.02;
  activity.kernels = 1;
  activity.ssh_connections = 0;
  report.activity = activity;
  clock_.advance(2 * 60 * kMinute);
  sync({report});
  auto view = json::parse(as(alice, "GET", "/api/v1/sessions/" + id.get<std::string>()).body);
  const auto& idle = view["idle"];
  EXPECT_EQ(
      idle["policy"],
      json({{"window_seconds", 7200}, {"grace_seconds", 900}, {"keeps", 3}, {"exempt", false}}));
  EXPECT_TRUE(idle["reclaimable"]);
  EXPECT_EQ(idle["idle_seconds"], 7200);
  EXPECT_FALSE(idle["warned_at"].is_null());
  EXPECT_EQ(idle["reclaim_at"], format_rfc3339(clock_.now() + 15 * kMinute));
  EXPECT_EQ(idle["signals"]["cpu_cores"], 0.02);
  EXPECT_EQ(idle["signals"]["kernels"], 1);
  EXPECT_TRUE(idle["signals"]["gpu_utilization_percent"].is_null());
  EXPECT_NE(view["warning"].get<std::string>().find("will be reclaimed"), std::string::npos);
}

TEST_F(Api, OnlyTheOwnerKeepsASessionAndOnlyAdminsExemptOne) {
  auto alice = token_for("alice");
  auto bob = token_for("bob");
  auto admin = token_for("root-admin");
  auto id = json::parse(as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})").body)["id"]
                .get<std::string>();
  EXPECT_EQ(as(alice, "POST", "/api/v1/sessions/" + id + "/keep").status, 409) << "not running";
  sync({observed(id, ObservedPhase::running)});
  EXPECT_EQ(as(bob, "POST", "/api/v1/sessions/" + id + "/keep").status, 404);
  EXPECT_EQ(as(alice, "POST", "/api/v1/sessions/" + std::string(70, 'x') + "/keep").status, 404);
  auto kept = as(alice, "POST", "/api/v1/sessions/" + id + "/keep");
  EXPECT_EQ(kept.status, 200) << kept.body;
  EXPECT_EQ(json::parse(kept.body)["idle"]["keeps_used"], 1);

  EXPECT_EQ(as(alice, "PUT", "/api/v1/sessions/" + id + "/idle", R"({"exempt":true})").status, 403);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/sessions/" + id + "/idle", R"({})").status, 400);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/sessions/" + id + "/idle", R"({"exempt":"yes"})").status,
            400);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/sessions/" + id + "/idle", R"({"exempt":true,"x":1})").status,
            400);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/sessions/nosuch/idle", R"({"exempt":true})").status, 404);
  auto exempted = as(admin, "PUT", "/api/v1/sessions/" + id + "/idle", R"({"exempt":true})");
  ASSERT_EQ(exempted.status, 200) << exempted.body;
  EXPECT_TRUE(fetch(id).idle_exempt);
}

TEST_F(Api, AdminsSetIdlePoliciesForUsersAndGroups) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  EXPECT_EQ(as(alice, "GET", "/api/v1/idle-policies").status, 403);
  EXPECT_EQ(as(alice, "PUT", "/api/v1/idle-policies/user/alice", R"({"exempt":true})").status, 403);
  ASSERT_EQ(as(admin, "POST", "/api/v1/groups", R"({"name":"lab"})").status, 201);
  for (const char* bad : {R"({"window_minutes":-1})", R"({"grace_minutes":"15"})",
                          R"({"keeps":1001})", R"({"exempt":1})", R"({"window":60})", "[]"})
    EXPECT_EQ(as(admin, "PUT", "/api/v1/idle-policies/group/lab", bad).status, 400) << bad;
  EXPECT_EQ(as(admin, "PUT", "/api/v1/idle-policies/user/nobody", "{}").status, 404);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/idle-policies/team/lab", "{}").status, 404);
  auto set = as(admin, "PUT", "/api/v1/idle-policies/group/lab",
                R"({"window_minutes":240,"grace_minutes":30,"keeps":5})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(json::parse(set.body), json({{"scope", "group"},
                                         {"name", "lab"},
                                         {"window_minutes", 240},
                                         {"grace_minutes", 30},
                                         {"keeps", 5},
                                         {"exempt", nullptr}}));
  ASSERT_EQ(as(admin, "PUT", "/api/v1/idle-policies/user/alice", R"({"exempt":true})").status, 200);
  auto listed = json::parse(as(admin, "GET", "/api/v1/idle-policies").body)["idle_policies"];
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0]["name"], "alice");
  EXPECT_EQ(as(admin, "DELETE", "/api/v1/idle-policies/user/alice").status, 200);
  EXPECT_EQ(as(admin, "DELETE", "/api/v1/idle-policies/user/alice").status, 404);
  auto audit = json::parse(as(admin, "GET", "/api/v1/audit?limit=20").body);
  EXPECT_NE(audit.dump().find("/api/v1/idle-policies/{scope}/{name}"), std::string::npos);
}

}  // namespace
}  // namespace gpupool::testing
