// Moving an installation from SQLite to PostgreSQL (gpupool admin migrate-store): every row
// arrives, ids go on where they left off, and a database with data is never overwritten.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "postgres_server.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/postgres/sqlite_import.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace gpupool {
namespace {

class StoreMigration : public ::testing::Test {
 protected:
  void SetUp() override {
    postgres_ = testing::PostgresDatabase::make();
    if (!postgres_) GTEST_SKIP() << "no PostgreSQL server for this run (GPUPOOL_TEST_POSTGRES)";
    char pattern[] = "/tmp/gpupool-migrate-XXXXXX";
    directory_ = mkdtemp(pattern);
    path_ = directory_ + "/gpupool.db";
  }
  void TearDown() override {
    if (!directory_.empty()) std::filesystem::remove_all(directory_);
  }

  std::string directory_;
  std::string path_;
  std::optional<testing::PostgresDatabase> postgres_;
};

TEST_F(StoreMigration, MovesEveryRowAndIdsGoOnAfterTheCopiedOnes) {
  {
    auto store = std::move(*SqliteStore::open(path_));
    auto ada = *store->create_user("ada", "hash-a", true, 1);
    auto bob = *store->create_user("bob", "hash-b", false, 2);
    auto group = *store->create_group("lab", 3);
    ASSERT_TRUE(store->set_group_members(group.id, {ada.id, bob.id}).ok());
    ASSERT_TRUE(store->set_price({"A100-80GB", 2'000'000, 4}).ok());
    Session session;
    session.id = "s1";
    session.user_id = bob.id;
    session.request.image_tag = "pytorch";
    session.request.gpus = 1;
    session.request.cpus = 2.5;
    session.jupyter_token = "t";
    session.created_at = session.updated_at = 5;
    ASSERT_TRUE(store->insert_session(session).ok());
    session.state = SessionState::ended;
    session.updated_at = session.ended_at = 9;
    ASSERT_TRUE(store->update_session(session).ok());
    LedgerEntry top_up{0, bob.id, 6, LedgerKind::top_up, 5'000'000, "", "invoice-1", "paid"};
    ASSERT_TRUE(*store->add_ledger_entry(top_up));
    LedgerEntry charge{0, bob.id, 9, LedgerKind::charge, -1'250'000, "s1", "", ""};
    ASSERT_TRUE(*store->add_ledger_entry(charge));
    ASSERT_TRUE(store->append_audit({0, 7, "ada", "127.0.0.1", "login", "", 200, ""}).ok());
  }
  auto copied = import_sqlite(path_, postgres_->url());
  ASSERT_TRUE(copied.ok()) << copied.error().message;
  std::size_t rows = 0;
  for (const auto& count : *copied) rows += count.rows;
  EXPECT_GE(rows, 10u);

  auto store = std::move(*PostgresStore::open(postgres_->url()));
  auto users = *store->list_users();
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[1].username, "bob");
  EXPECT_EQ((*store->find_user_by_name("bob"))->password_hash, "hash-b");
  EXPECT_EQ(*store->ledger_sum(users[1].id), 3'750'000);
  EXPECT_EQ(store->session_events("s1")->size(), 2u);
  EXPECT_EQ((*store->get_session("s1"))->request.cpus, 2.5);
  EXPECT_EQ(store->list_prices()->at(0).micros_per_gpu_hour, 2'000'000);
  EXPECT_EQ(store->group_member_ids((*store->find_group("lab"))->id)->size(), 2u);
  EXPECT_EQ(store->list_audit({})->size(), 1u);

  // New rows get new ids: the identities go on after the copied ones.
  auto cy = store->create_user("cy", "hash-c", false, 10);
  ASSERT_TRUE(cy.ok()) << cy.error().message;
  EXPECT_GT(cy->id, users[1].id);
  LedgerEntry more{0, cy->id, 11, LedgerKind::top_up, 1, "", "invoice-2", ""};
  ASSERT_TRUE(store->add_ledger_entry(more).ok());
  EXPECT_GT(more.id, 2);

  // Never into a database that holds gpupool data.
  auto again = import_sqlite(path_, postgres_->url());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::conflict);
  EXPECT_EQ(store->list_users()->size(), 3u);
}

}  // namespace
}  // namespace gpupool
