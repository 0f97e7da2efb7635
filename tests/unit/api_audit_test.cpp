// The audit log: sign-ins (failed too) with their source, credential changes, every admin
// write; read by admins only, filtered and paged; append-only with a floor on retention.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api_fixture.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;

class ApiAudit : public Proxy {
 protected:
  json entries(const std::string& token, const std::string& query = "") {
    auto reply = as(token, "GET", "/api/v1/audit" + query);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body)["entries"];
  }
  static bool has(const json& listed, const std::string& actor, const std::string& action,
                  int outcome) {
    for (const auto& entry : listed) {
      if (entry["actor"] == actor && entry["action"] == action && entry["outcome"] == outcome)
        return true;
    }
    return false;
  }
};

TEST_F(ApiAudit, RecordsSignInsCredentialsAndAdminWritesButNotEverydayUse) {
  remote_ = "203.0.113.66";
  call("POST", "/api/v1/auth/login", R"({"username":"alice","password":"wrong-password"})");
  remote_ = "192.0.2.1";
  auto alice = token_for("alice");
  auto admin = token_for("root-admin");
  ASSERT_EQ(as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})").status, 201);
  as(alice, "GET", "/api/v1/me");
  ASSERT_EQ(as(admin, "POST", "/api/v1/users",
               R"({"username":"carol","password":"long-enough-password"})")
                .status,
            201);
  ASSERT_EQ(as(admin, "PATCH", "/api/v1/users/alice", R"({"disabled":true})").status, 200);
  as(admin, "PATCH", "/api/v1/users/nobody-here", R"({"admin":true})");

  auto listed = entries(admin);
  EXPECT_TRUE(has(listed, "alice", "login failed", 401)) << listed;
  EXPECT_TRUE(has(listed, "alice", "login", 200));
  EXPECT_TRUE(has(listed, "alice", "POST /api/v1/tokens", 201));
  EXPECT_TRUE(has(listed, "root-admin", "POST /api/v1/users", 201));
  EXPECT_TRUE(has(listed, "root-admin", "PATCH /api/v1/users/{username}", 200));
  EXPECT_TRUE(has(listed, "root-admin", "PATCH /api/v1/users/{username}", 404))
      << "refused admin actions too";
  for (const auto& entry : listed) {
    EXPECT_NE(entry["action"], "POST /api/v1/sessions") << "a user's session is not an audit event";
    for (const char* secret : {"wrong-password", "password-alice", "long-enough-password"})
      EXPECT_EQ(entry.dump().find(secret), std::string::npos) << "no secret is recorded";
  }
  json failed;
  for (const auto& entry : listed)
    if (entry["action"] == "login failed") failed = entry;
  EXPECT_EQ(failed["source"], "203.0.113.66");
  EXPECT_EQ(failed["detail"], "wrong username or password");
  json patched;
  for (const auto& entry : listed)
    if (entry["action"] == "PATCH /api/v1/users/{username}" && entry["outcome"] == 200)
      patched = entry;
  EXPECT_EQ(patched["target"], "username=alice");

  EXPECT_EQ(as(token_for("bob"), "GET", "/api/v1/audit").status, 403);
}

// A user opening a session to others (a web app shared, or by a link) is recorded with what
// was asked; the link itself, in the answer only, is not.
TEST_F(ApiAudit, SharingASessionsWebAppIsRecordedWhoeverDoesIt) {
  auto id = running_session();
  auto alice = token_for("alice");
  auto exposed = as(alice, "POST", "/api/v1/sessions/" + id + "/apps",
                    R"({"port":6006,"users":["bob"],"link_hours":2})");
  ASSERT_EQ(exposed.status, 201) << exposed.body;
  std::string link = json::parse(exposed.body)["link"].get<std::string>();
  ASSERT_EQ(as(alice, "DELETE", "/api/v1/sessions/" + id + "/apps/6006").status, 200);

  auto listed = entries(token_for("root-admin"));
  EXPECT_TRUE(has(listed, "alice", "POST /api/v1/sessions/{id}/apps", 201)) << listed;
  EXPECT_TRUE(has(listed, "alice", "DELETE /api/v1/sessions/{id}/apps/{port}", 200));
  for (const auto& entry : listed) {
    if (entry["action"] != "POST /api/v1/sessions/{id}/apps") continue;
    EXPECT_EQ(entry["target"], "id=" + id);
    EXPECT_NE(entry["detail"].get<std::string>().find(R"("users":["bob"])"), std::string::npos);
  }
  auto token = link.substr(link.find('=') + 1);
  EXPECT_EQ(listed.dump().find(token), std::string::npos) << "the link is not recorded";
}

TEST_F(ApiAudit, ALoginFloodCannotFillTheLog) {
  remote_ = "203.0.113.66";
  for (int i = 0; i < 200; ++i)
    call("POST", "/api/v1/auth/login", R"({"username":"alice","password":"wrong-password"})");
  remote_ = "192.0.2.1";
  auto failed = entries(token_for("root-admin"), "?action=login%20failed&limit=1000");
  EXPECT_LE(failed.size(), 10u) << "attempts refused by the back-off are not recorded one by one";
  EXPECT_GE(failed.size(), 5u);
}

TEST_F(ApiAudit, AdminsFilterAndPage) {
  auto admin = token_for("root-admin");
  for (int i = 0; i < 3; ++i) token_for("alice");
  auto alice_only = entries(admin, "?actor=alice&action=login");
  ASSERT_EQ(alice_only.size(), 3u) << alice_only;
  auto page = as(admin, "GET", "/api/v1/audit?actor=alice&limit=2");
  auto first = json::parse(page.body);
  ASSERT_EQ(first["entries"].size(), 2u);
  ASSERT_FALSE(first["next_before"].is_null());
  auto rest = entries(admin, "?actor=alice&limit=1000&before=" + first["next_before"].dump());
  EXPECT_EQ(rest.size(), 4u) << "six alice entries in all (three logins, three mints)";
  EXPECT_TRUE(entries(admin, "?since=2100-01-01T00:00:00Z").empty());
  EXPECT_FALSE(entries(admin, "?since=2000-01-01T00:00:00.5Z").empty());
  for (const char* bad : {"?limit=0", "?limit=1001", "?before=x", "?since=yesterday", "?who=me"})
    EXPECT_EQ(as(admin, "GET", std::string("/api/v1/audit") + bad).status, 400) << bad;
}

TEST_F(ApiAudit, EntriesLeaveOnlyByRetentionAndNeverYoung) {
  const UnixMillis old = 1'000'000'000'000;  // 2001
  ASSERT_TRUE(store_->append_audit({0, old, "x", "192.0.2.1", "login", "", 200, ""}).ok());
  ASSERT_TRUE(store_->append_audit({0, clock_.now(), "y", "192.0.2.1", "login", "", 200, ""}).ok());
  auto pruned = store_->prune_audit(old + 1);
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 1);
  EXPECT_FALSE(store_->prune_audit(clock_.now() + 1).ok()) << "a young entry is kept";
  AuditFilter everything;
  EXPECT_EQ(store_->list_audit(everything)->size(), 1u);
}

}  // namespace
}  // namespace gpupool::testing
