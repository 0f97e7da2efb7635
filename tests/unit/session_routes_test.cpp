#include <gtest/gtest.h>

#include "service_fixture.hpp"
#include "services/session_routes.hpp"

namespace gpupool::testing {
namespace {

class SessionRoutes : public ServiceFixture {
 protected:
  services::SessionRoutes routes_{*store_};
};

TEST_F(SessionRoutes, UnknownIdsHaveNoneUntilTheSessionExists) {
  auto none = routes_.find("s-later");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  Session session = fetch(request(alice_, 1).id);
  session.id = "s-later";
  ASSERT_TRUE(store_->insert_session(session).ok());
  auto found = routes_.find("s-later");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value()) << "a remembered 'unknown' is forgotten at the next write";
  EXPECT_EQ((*found)->user_id, alice_.id);
}

TEST_F(SessionRoutes, AnswersFromTheStoreAndNeverFromBeforeItsLastWrite) {
  auto id = request(alice_, 1).id;
  auto queued = routes_.find(id);
  ASSERT_TRUE(queued.ok() && queued->has_value());
  EXPECT_EQ((*queued)->state, SessionState::scheduled);
  EXPECT_EQ((*queued)->host, "node-1.example");
  EXPECT_EQ((*routes_.find(id))->state, SessionState::scheduled);  // remembered

  Session running = fetch(id);
  running.state = SessionState::running;
  running.jupyter_port = 30001;
  running.jupyter_token = "t0ken";
  ASSERT_TRUE(store_->update_session(running).ok());
  auto now_running = routes_.find(id);
  ASSERT_TRUE(now_running.ok() && now_running->has_value());
  EXPECT_EQ((*now_running)->state, SessionState::running);
  EXPECT_EQ((*now_running)->port, 30001);
  EXPECT_EQ((*now_running)->jupyter_token, "t0ken");

  Node moved = node();
  moved.jupyter_host = "10.0.0.7";
  ASSERT_TRUE(store_->upsert_node(moved).ok());
  EXPECT_EQ((*routes_.find(id))->host, "10.0.0.7") << "the node's own Jupyter address wins";

  running.state = SessionState::ended;
  ASSERT_TRUE(store_->update_session(running).ok());
  EXPECT_EQ((*routes_.find(id))->state, SessionState::ended);
}

class StoreCacheTest : public ServiceFixture {};

TEST_F(StoreCacheTest, RemembersUntilTheStoreIsWrittenAndNotAFailure) {
  services::StoreCache<int> cache(*store_);
  int loads = 0;
  auto load = [&]() -> Result<int> { return ++loads; };
  EXPECT_EQ(*cache.get("a", load), 1);
  EXPECT_EQ(*cache.get("a", load), 1) << "remembered";
  EXPECT_EQ(*cache.get("b", load), 2) << "by key";
  ASSERT_TRUE(store_->upsert_node(node()).ok());
  EXPECT_EQ(*cache.get("a", load), 3) << "read again after a write";

  auto failing = [&]() -> Result<int> { return make_error(ErrorCode::unavailable, "down"); };
  ASSERT_TRUE(store_->upsert_node(node()).ok());
  EXPECT_FALSE(cache.get("a", failing).ok());
  EXPECT_EQ(*cache.get("a", load), 4) << "a failed read is not remembered";
}

}  // namespace
}  // namespace gpupool::testing
