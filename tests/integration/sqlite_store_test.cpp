// What only the SQLite store does, on real files: refusal of a corrupt or newer file, online
// backups, reads beside another process's write lock, the old file kept before migrating,
// statement reuse. What every engine does is in store_engines_test.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "store/sqlite/database.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace gpupool {
namespace {

class SqliteFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/gpupool-store-XXXXXX";
    directory_ = mkdtemp(pattern);
    path_ = directory_ + "/gpupool.db";
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::string directory_;
  std::string path_;
};

TEST_F(SqliteFile, RefusesACorruptFileWithAClearMessage) {
  {
    std::ofstream out(path_);
    out << std::string(8192, 'x');
  }
  auto store = SqliteStore::open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("refusing to start"), std::string::npos)
      << store.error().message;
}

TEST_F(SqliteFile, RefusesADatabaseFromANewerGpupool) {
  { ASSERT_TRUE(SqliteStore::open(path_).ok()); }
  {
    auto database = sqlite::Database::open(path_);
    ASSERT_TRUE((*database)->execute("PRAGMA user_version = 999").ok());
  }
  auto store = SqliteStore::open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().message.find("newer"), std::string::npos);
}

TEST_F(SqliteFile, BacksUpConsistentlyWhileAWriterHoldsATransaction) {
  auto store = SqliteStore::open(path_);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->create_user("kept", "hash", false, 1).ok());
  std::string copy = directory_ + "/copy.db";
  // A write in progress (not committed) is not in the copy; what was committed is.
  ASSERT_TRUE((*store)
                  ->in_transaction([&]() -> Status {
                    GPUPOOL_TRY((*store)->create_user("in-flight", "hash", false, 2));
                    return SqliteStore::backup(path_, copy);
                  })
                  .ok());
  EXPECT_EQ(std::filesystem::status(copy).permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  auto restored = SqliteStore::open(copy);
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  auto kept = (*restored)->find_user_by_name("kept");
  ASSERT_TRUE(kept.ok() && kept->has_value());
  auto in_flight = (*restored)->find_user_by_name("in-flight");
  ASSERT_TRUE(in_flight.ok());
  EXPECT_FALSE(in_flight->has_value());
  // Never over an existing file, and never from a database that is not there.
  EXPECT_FALSE(SqliteStore::backup(path_, copy).ok());
  EXPECT_FALSE(SqliteStore::backup(directory_ + "/missing.db", directory_ + "/x.db").ok());
  EXPECT_FALSE(std::filesystem::exists(directory_ + "/missing.db"));
}

TEST_F(SqliteFile, ReadsGoOnWhileAWriterWaitsForAnotherProcesssLock) {
  auto store = SqliteStore::open(path_);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->create_user("kept", "hash", false, 1).ok());
  auto other = sqlite::Database::open_existing(path_);  // an admin's sqlite3 shell, say
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->execute("BEGIN IMMEDIATE").ok());
  Status written;
  std::thread writer([&] {
    written = (*store)->in_transaction([&]() -> Status {
      GPUPOOL_TRY((*store)->create_user("late", "hash", false, 2));
      auto own = (*store)->find_user_by_name("late");  // a transaction reads its own writes
      if (!own || !own->has_value()) return make_error(ErrorCode::internal, "own write unseen");
      return Status{};
    });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the writer waits for the lock
  auto started = std::chrono::steady_clock::now();
  auto users = (*store)->list_users();
  auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(users.ok()) << users.error().message;
  EXPECT_EQ(users->size(), 1u) << "the last commit";
  EXPECT_LT(waited, std::chrono::seconds(2)) << "a read does not queue behind the writer";
  ASSERT_TRUE((*other)->execute("ROLLBACK").ok());
  writer.join();
  EXPECT_TRUE(written.ok()) << "the writer got the lock within its wait";
  EXPECT_EQ((*store)->list_users()->size(), 2u);
}

TEST_F(SqliteFile, KeepsTheOldDatabaseBeforeMigratingIt) {
  int newest = 0;
  {
    auto store = SqliteStore::open(path_);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->create_user("ada", "hash", false, 1).ok());
  }
  {
    auto database = sqlite::Database::open(path_);
    auto version = (*database)->prepare("PRAGMA user_version");
    ASSERT_TRUE(version->step().ok());
    newest = static_cast<int>(version->column_int(0));
    // As if the newest migration had not run yet: reopening applies it again (which may or may
    // not work on the tables it made) — after the old database was kept.
    ASSERT_TRUE((*database)->execute(fmt::format("PRAGMA user_version = {}", newest - 1)).ok());
  }
  (void)SqliteStore::open(path_);
  std::string kept = fmt::format("{}.v{}-backup", path_, newest - 1);
  ASSERT_TRUE(std::filesystem::exists(kept));
  auto old = sqlite::Database::open(kept);
  ASSERT_TRUE(old.ok());
  auto version = (*old)->prepare("PRAGMA user_version");
  ASSERT_TRUE(version->step().ok());
  EXPECT_EQ(version->column_int(0), newest - 1);
  auto users = (*old)->prepare("SELECT count(*) FROM users WHERE username = 'ada'");
  ASSERT_TRUE(users->step().ok());
  EXPECT_EQ(users->column_int(0), 1);
}

// Compiled statements are reused: the same SQL twice at once, again after the first copies
// are done, with other values bound each time, and across a schema change.
TEST(SqliteStatements, AreReusedWithFreshBindingsAndSurviveSchemaChanges) {
  auto database = sqlite::Database::open(":memory:");
  ASSERT_TRUE(database.ok());
  ASSERT_TRUE((*database)->execute("CREATE TABLE t (k INTEGER, v TEXT)").ok());
  for (int i = 0; i < 5; ++i) {
    auto insert = (*database)->prepare("INSERT INTO t (k, v) VALUES (?1, ?2)");
    ASSERT_TRUE(insert.ok());
    ASSERT_TRUE(insert->bind(1, i).bind(2, "v" + std::to_string(i)).run().ok());
  }
  const char* query = "SELECT v FROM t WHERE k = ?1";
  {
    auto first = (*database)->prepare(query);
    auto second = (*database)->prepare(query);  // while the first is still in use
    ASSERT_TRUE(first.ok() && second.ok());
    first->bind(1, 1);
    second->bind(1, 3);
    ASSERT_TRUE(*first->step() && *second->step());
    EXPECT_EQ(first->column_text(0), "v1");
    EXPECT_EQ(second->column_text(0), "v3");
  }
  for (int i = 0; i < 5; ++i) {
    auto again = (*database)->prepare(query);
    ASSERT_TRUE(again.ok());
    again->bind(1, i);
    ASSERT_TRUE(*again->step());
    EXPECT_EQ(again->column_text(0), "v" + std::to_string(i));
  }
  {
    auto unbound = (*database)->prepare(query);  // bindings of the last use are cleared
    ASSERT_TRUE(unbound.ok());
    EXPECT_FALSE(*unbound->step());
  }
  ASSERT_TRUE((*database)->execute("ALTER TABLE t ADD COLUMN w TEXT DEFAULT 'x'").ok());
  auto after = (*database)->prepare(query);
  ASSERT_TRUE(after.ok());
  after->bind(1, 2);
  ASSERT_TRUE(*after->step());
  EXPECT_EQ(after->column_text(0), "v2");
}

}  // namespace
}  // namespace gpupool
