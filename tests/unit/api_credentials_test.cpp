// Every credential has a lifecycle: listed, revoked (by its owner or an admin), expiring and
// renewed; a password change ends other logins; an admin disables, enables and promotes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api_fixture.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;
constexpr UnixMillis kDay = 24LL * 3600 * 1000;

class ApiCredentials : public Api {
 protected:
  json tokens(const std::string& token, const std::string& path = "/api/v1/tokens") {
    auto reply = as(token, "GET", path);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body)["tokens"];
  }
  static std::string id_of_current(const json& listed) {
    for (const auto& entry : listed)
      if (entry["current"] == true) return entry["id"];
    return "";
  }
  gateway::HttpReply with_cookie(const Login& login, const std::string& method,
                                 const std::string& path, const std::string& body = "") {
    return call(method, path, body, {{"Cookie", login.cookie}, {"X-CSRF-Token", login.csrf}});
  }
};

TEST_F(ApiCredentials, OwnersListAndRevokeTheirTokensAndRevokedOnesStopWorking) {
  auto alice = token_for("alice");
  auto second = token_for("alice");
  auto listed = tokens(alice);
  ASSERT_EQ(listed.size(), 4u) << "two logins and two tokens: " << listed;
  std::string alice_id = id_of_current(listed);
  ASSERT_EQ(alice_id.size(), 16u);
  for (const auto& entry : listed) EXPECT_EQ(entry.dump().find(alice), std::string::npos);

  std::string second_id = id_of_current(tokens(second));
  EXPECT_EQ(as(alice, "DELETE", "/api/v1/tokens/" + second_id).status, 200);
  EXPECT_EQ(as(second, "GET", "/api/v1/me").status, 401) << "revoked at once";
  EXPECT_EQ(as(alice, "GET", "/api/v1/me").status, 200);

  auto bob = token_for("bob");
  EXPECT_EQ(as(bob, "DELETE", "/api/v1/tokens/" + alice_id).status, 404)
      << "another user's token is not bob's to revoke, nor to know of";
  EXPECT_EQ(as(bob, "GET", "/api/v1/users/alice/tokens").status, 403);
  EXPECT_EQ(as(alice, "DELETE", "/api/v1/tokens/not-an-id").status, 404);
}

TEST_F(ApiCredentials, AdminsSeeAndRevokeAnyonesTokens) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  auto listed = tokens(admin, "/api/v1/users/alice/tokens");
  std::string alice_id = id_of_current(tokens(alice));
  bool found = false;
  for (const auto& entry : listed) found = found || entry["id"] == alice_id;
  EXPECT_TRUE(found) << listed;
  EXPECT_EQ(as(admin, "DELETE", "/api/v1/users/alice/tokens/" + alice_id).status, 200);
  EXPECT_EQ(as(alice, "GET", "/api/v1/me").status, 401);
  EXPECT_EQ(as(admin, "GET", "/api/v1/users/nobody-here/tokens").status, 404);
}

TEST_F(ApiCredentials, TokensExpireByDefaultAndRenewThemselves) {
  auto alice = token_for("alice");
  auto listed = tokens(alice);
  for (const auto& entry : listed) EXPECT_FALSE(entry["expires_at"].is_null()) << entry;
  clock_.advance(29 * kDay);
  auto renewed = as(alice, "POST", "/api/v1/tokens/renew");
  ASSERT_EQ(renewed.status, 200) << renewed.body;
  clock_.advance(29 * kDay);
  EXPECT_EQ(as(alice, "GET", "/api/v1/me").status, 200) << "renewed for another 30 days";
  clock_.advance(2 * kDay);
  EXPECT_EQ(as(alice, "GET", "/api/v1/me").status, 401) << "and then it expires";
  auto login = login_as("alice");
  EXPECT_EQ(with_cookie(login, "POST", "/api/v1/tokens/renew").status, 400)
      << "logins are not renewed: sign in again";
}

TEST_F(ApiCredentials, ChangingThePasswordEndsTheOtherLogins) {
  auto here = login_as("alice");
  auto elsewhere = login_as("alice");
  auto wrong = with_cookie(here, "POST", "/api/v1/me/password",
                           R"({"current_password":"guess","new_password":"a-new-password-1"})");
  EXPECT_EQ(wrong.status, 403);
  auto changed =
      with_cookie(here, "POST", "/api/v1/me/password",
                  R"({"current_password":"password-alice","new_password":"a-new-password-1"})");
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(with_cookie(here, "GET", "/api/v1/me").status, 200) << "this login goes on";
  EXPECT_EQ(with_cookie(elsewhere, "GET", "/api/v1/me").status, 401);
  EXPECT_EQ(
      call("POST", "/api/v1/auth/login", R"({"username":"alice","password":"password-alice"})")
          .status,
      401);
  EXPECT_EQ(
      call("POST", "/api/v1/auth/login", R"({"username":"alice","password":"a-new-password-1"})")
          .status,
      200);
}

TEST_F(ApiCredentials, ADisabledUserCannotSignInAndTheirCredentialsEndAtOnce) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  ASSERT_EQ(as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})").status, 201);
  auto disabled =
      as(admin, "PATCH", "/api/v1/users/alice", R"({"disabled":true,"stop_sessions":true})");
  ASSERT_EQ(disabled.status, 200) << disabled.body;
  auto view = json::parse(disabled.body);
  EXPECT_EQ(view["disabled"], true);
  EXPECT_EQ(view["sessions_stopped"], 1);
  EXPECT_GE(view["credentials_ended"].get<int>(), 2);
  EXPECT_EQ(as(alice, "GET", "/api/v1/me").status, 401);
  auto refused =
      call("POST", "/api/v1/auth/login", R"({"username":"alice","password":"password-alice"})");
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(refused.body.find("disabled"), std::string::npos);

  ASSERT_EQ(as(admin, "PATCH", "/api/v1/users/alice", R"({"disabled":false})").status, 200);
  EXPECT_EQ(
      call("POST", "/api/v1/auth/login", R"({"username":"alice","password":"password-alice"})")
          .status,
      200);
}

TEST_F(ApiCredentials, AdminsGrantAndRevokeAdminButTheLastAdminStays) {
  auto admin = token_for("root-admin");
  auto bob = token_for("bob");
  EXPECT_EQ(as(bob, "GET", "/api/v1/users").status, 403);
  EXPECT_EQ(as(bob, "PATCH", "/api/v1/users/bob", R"({"admin":true})").status, 403)
      << "no one grants themselves admin";
  ASSERT_EQ(as(admin, "PATCH", "/api/v1/users/bob", R"({"admin":true})").status, 200);
  EXPECT_EQ(as(bob, "GET", "/api/v1/users").status, 200) << "at once, not after a cache expires";
  ASSERT_EQ(as(bob, "PATCH", "/api/v1/users/root-admin", R"({"admin":false})").status, 200);
  EXPECT_EQ(as(admin, "GET", "/api/v1/users").status, 403);
  auto last = as(bob, "PATCH", "/api/v1/users/bob", R"({"disabled":true})");
  EXPECT_EQ(last.status, 409) << "the pool keeps an enabled admin";
  EXPECT_EQ(as(bob, "PATCH", "/api/v1/users/bob", R"({"admin":"yes"})").status, 400);
  EXPECT_EQ(as(bob, "PATCH", "/api/v1/users/bob", R"({"root":true})").status, 400);
  EXPECT_EQ(as(bob, "PATCH", "/api/v1/users/nobody-here", R"({"admin":true})").status, 404);
}

}  // namespace
}  // namespace gpupool::testing
