// Who may expose, open and list a session's web apps (services/session_apps.hpp), on the
// store the fixture runs on.
#include "services/session_apps.hpp"

#include "service_fixture.hpp"

namespace gpupool::testing {
namespace {

class SessionAppsTest : public ServiceFixture {
 protected:
  SessionAppsTest() : apps_(*store_, *sessions_, clock_) {}

  services::SessionApps apps_;
};

TEST_F(SessionAppsTest, OnlyTheOwnerExposesAndAnotherUsersSessionIsNotFound) {
  auto session = request(alice_, 1);
  auto exposed = apps_.expose(alice_, session.id, {6006, false, {"bob"}, {}, 0});
  ASSERT_TRUE(exposed.ok()) << exposed.error().message;
  EXPECT_EQ(exposed->app.shared_users, std::vector<std::string>{"bob"});
  EXPECT_TRUE(exposed->link_token.empty());
  EXPECT_EQ(apps_.expose(bob_, session.id, {6006, false, {}, {}, 0}).error().code,
            ErrorCode::not_found);
  EXPECT_EQ(apps_.remove(bob_, session.id, 6006).error().code, ErrorCode::not_found);
  EXPECT_EQ(apps_.list(bob_, session.id).error().code, ErrorCode::not_found);
  // An admin sees them, but does not expose in another's name.
  EXPECT_EQ(apps_.list(admin_, session.id)->size(), 1u);
  EXPECT_EQ(apps_.expose(admin_, session.id, {6007, false, {}, {}, 0}).error().code,
            ErrorCode::not_found);
}

TEST_F(SessionAppsTest, WhoMayOpenAnApp) {
  auto session = request(alice_, 1);
  auto carol = make_user("carol", false);
  auto group = store_->create_group("viewers", clock_.now());
  ASSERT_TRUE(group.ok());
  ASSERT_TRUE(store_->set_group_members(group->id, {carol.id}).ok());
  auto app = apps_.expose(alice_, session.id, {6006, false, {}, {}, 0})->app;
  EXPECT_TRUE(*apps_.may_open(app, alice_.id, alice_));
  EXPECT_FALSE(*apps_.may_open(app, alice_.id, bob_));
  EXPECT_FALSE(*apps_.may_open(app, alice_.id, carol));
  EXPECT_FALSE(*apps_.may_open(app, alice_.id, admin_)) << "admins enter Jupyter, not apps";
  app = apps_.expose(alice_, session.id, {6006, false, {"bob", "alice"}, {"viewers"}, 0})->app;
  EXPECT_EQ(app.shared_users, std::vector<std::string>{"bob"}) << "the owner is not listed";
  EXPECT_TRUE(*apps_.may_open(app, alice_.id, bob_));
  EXPECT_TRUE(*apps_.may_open(app, alice_.id, carol));
  // What the store kept is what the gateway asks about.
  auto found = apps_.find(session.id, 6006);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->shared_groups, std::vector<std::string>{"viewers"});
  EXPECT_FALSE(apps_.find(session.id, 6007)->has_value());
}

TEST_F(SessionAppsTest, ALinkOpensUntilItExpiresOrIsReplaced) {
  auto session = request(alice_, 1);
  auto first = apps_.expose(alice_, session.id, {6006, false, {}, {}, 2});
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->link_token.empty());
  auto stored = **apps_.find(session.id, 6006);
  EXPECT_NE(stored.link_digest, first->link_token) << "kept as a digest only";
  EXPECT_TRUE(apps_.link_opens(stored, first->link_token));
  EXPECT_FALSE(apps_.link_opens(stored, first->link_token + "x"));
  EXPECT_FALSE(apps_.link_opens(stored, ""));
  auto second = apps_.expose(alice_, session.id, {6006, false, {}, {}, 1});
  stored = **apps_.find(session.id, 6006);
  EXPECT_FALSE(apps_.link_opens(stored, first->link_token));
  EXPECT_TRUE(apps_.link_opens(stored, second->link_token));
  clock_.advance(3600 * 1000);
  EXPECT_FALSE(apps_.link_opens(stored, second->link_token)) << "an hour later";
  // Exposed again without a link: none opens it.
  ASSERT_TRUE(apps_.expose(alice_, session.id, {6006, false, {}, {}, 0}).ok());
  EXPECT_FALSE(apps_.link_opens(**apps_.find(session.id, 6006), second->link_token));
}

TEST_F(SessionAppsTest, ANodeWithoutAnAppRelayIsSaidAtOnce) {
  auto session = request(alice_, 1);
  auto without = node();
  without.app_relay_port = 0;  // a Slurm node, or an older agent
  ASSERT_TRUE(sessions_->sync({without, {}}).ok());
  auto refused = apps_.expose(alice_, session.id, {6006});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::conflict);
  EXPECT_NE(refused.error().message.find("does not relay web apps"), std::string::npos);
}

TEST_F(SessionAppsTest, BadRequestsAndLimits) {
  auto session = request(alice_, 1);
  for (const services::AppRequest& bad :
       {services::AppRequest{0}, services::AppRequest{65536},
        services::AppRequest{80, false, {"nobody"}}, services::AppRequest{80, false, {}, {"none"}},
        services::AppRequest{80, false, {}, {}, services::kMaxAppLinkHours + 1},
        services::AppRequest{80, false, {}, {}, -1}}) {
    EXPECT_EQ(apps_.expose(alice_, session.id, bad).error().code, ErrorCode::invalid_argument)
        << bad.port;
  }
  for (int port = 1; port <= services::kMaxAppsPerSession; ++port)
    ASSERT_TRUE(apps_.expose(alice_, session.id, {port}).ok());
  EXPECT_EQ(apps_.expose(alice_, session.id, {9999}).error().code, ErrorCode::conflict);
  EXPECT_TRUE(apps_.expose(alice_, session.id, {1, true}).ok()) << "changing one is fine";
  EXPECT_TRUE(apps_.remove(alice_, session.id, 1).ok());
  EXPECT_EQ(apps_.remove(alice_, session.id, 1).error().code, ErrorCode::not_found);
  ASSERT_TRUE(sessions_->stop_session(alice_, session.id).ok());
  sync({});
  EXPECT_EQ(fetch(session.id).state, SessionState::ended);
  EXPECT_EQ(apps_.expose(alice_, session.id, {2}).error().code, ErrorCode::conflict);
}

}  // namespace
}  // namespace gpupool::testing
