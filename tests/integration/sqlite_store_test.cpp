// The SQLite store on real files: migrations, durability across reopen, refusal of a
// corrupt file, constraints and atomic transactions.
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

Session sample_session(std::int64_t user_id) {
  Session session;
  session.id = "s1";
  session.user_id = user_id;
  session.request.image_tag = "pytorch1.13-cpu-debian12-runtime";
  session.request.gpus = 2;
  session.request.max_hours = 1.5;
  session.request.node_selector = {{"rack", "a"}};
  session.image_reference = "gpupool/session:x";
  session.jupyter_token = "token";
  session.gpu_indices = {1, 3};
  session.gpu_uuids = {"GPU-a", "GPU-b"};
  session.created_at = 10;
  session.updated_at = 10;
  return session;
}

TEST_F(SqliteFile, KeepsDataAcrossReopen) {
  {
    auto store = SqliteStore::open(path_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    auto user = (*store)->create_user("alice", "hash", false, 1);
    ASSERT_TRUE(user.ok());
    EXPECT_EQ(user->uid, kFirstSessionUid);
    ASSERT_TRUE((*store)->insert_session(sample_session(user->id)).ok());
  }
  auto reopened = SqliteStore::open(path_);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  auto user = (*reopened)->find_user_by_name("alice");
  ASSERT_TRUE(user.ok() && user->has_value());
  auto session = (*reopened)->get_session("s1");
  ASSERT_TRUE(session.ok() && session->has_value());
  EXPECT_EQ((*session)->gpu_indices, (std::vector<int>{1, 3}));
  EXPECT_EQ((*session)->gpu_uuids, (std::vector<std::string>{"GPU-a", "GPU-b"}));
  EXPECT_EQ((*session)->request.max_hours, 1.5);
  EXPECT_EQ((*session)->request.node_selector.at("rack"), "a");
  EXPECT_EQ((*session)->username, "alice");
  EXPECT_EQ((*session)->uid, kFirstSessionUid);
}

TEST_F(SqliteFile, KeepsNodesWithTheirTopologyAndDrainSetting) {
  auto store = std::move(*SqliteStore::open(path_));
  Node node;
  node.name = "gpu-1";
  node.gpus = {{0, "GPU-a", "A100-80GB", 81920, false, {GpuLink::same, GpuLink::nvlink}},
               {1, "GPU-b", "A100-80GB", 81920, false, {GpuLink::nvlink, GpuLink::same}}};
  node.labels = {{"rack", "a"}};
  ASSERT_TRUE(store->upsert_node(node).ok());
  ASSERT_TRUE(store->set_node_drained("gpu-1", true).ok());
  ASSERT_TRUE(store->upsert_node(node).ok()) << "inventory again";
  auto nodes = *store->list_nodes();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_TRUE(nodes[0].drained) << "the agent's inventory does not undo an admin's drain";
  EXPECT_EQ(nodes[0].gpus[1].links, (std::vector<GpuLink>{GpuLink::nvlink, GpuLink::same}));
  EXPECT_EQ(nodes[0].labels.at("rack"), "a");
  EXPECT_EQ(store->set_node_drained("nope", true).error().code, ErrorCode::not_found);
}

TEST_F(SqliteFile, ListsANodesGpusAsLastReportedWhenTheyChangeAndChangeBack) {
  auto store = std::move(*SqliteStore::open(path_));
  Node node;
  node.name = "gpu-1";
  std::vector<GpuDevice> two = {{0, "GPU-a", "A100-80GB", 81920, false, {}},
                                {1, "GPU-b", "A100-80GB", 81920, false, {}}};
  for (std::size_t count : {2, 1, 2}) {  // a GPU lost, then back: parsed lists are kept
    node.gpus.assign(two.begin(), two.begin() + static_cast<std::ptrdiff_t>(count));
    ASSERT_TRUE(store->upsert_node(node).ok());
    auto nodes = *store->list_nodes();
    ASSERT_EQ(nodes.size(), 1u);
    ASSERT_EQ(nodes[0].gpus.size(), count);
    EXPECT_EQ(nodes[0].gpus.back().uuid, count == 2 ? "GPU-b" : "GPU-a");
    nodes[0].gpus.clear();  // a caller's copy: changing it changes nothing kept
    EXPECT_EQ(store->list_nodes()->at(0).gpus.size(), count);
  }
}

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
    ASSERT_TRUE(database->execute("PRAGMA user_version = 999").ok());
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
  ASSERT_TRUE(other->execute("BEGIN IMMEDIATE").ok());
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
  ASSERT_TRUE(other->execute("ROLLBACK").ok());
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
    auto version = database->prepare("PRAGMA user_version");
    ASSERT_TRUE(version->step().ok());
    newest = static_cast<int>(version->column_int(0));
    // As if the newest migration had not run yet: reopening applies it again, which fails on
    // the tables it made — after the old database was kept.
    ASSERT_TRUE(database->execute(fmt::format("PRAGMA user_version = {}", newest - 1)).ok());
  }
  auto store = SqliteStore::open(path_);
  EXPECT_FALSE(store.ok());
  std::string kept = fmt::format("{}.v{}-backup", path_, newest - 1);
  ASSERT_TRUE(std::filesystem::exists(kept));
  auto old = sqlite::Database::open(kept);
  ASSERT_TRUE(old.ok());
  auto version = old->prepare("PRAGMA user_version");
  ASSERT_TRUE(version->step().ok());
  EXPECT_EQ(version->column_int(0), newest - 1);
  auto users = old->prepare("SELECT count(*) FROM users WHERE username = 'ada'");
  ASSERT_TRUE(users->step().ok());
  EXPECT_EQ(users->column_int(0), 1);
}

TEST_F(SqliteFile, ListsActiveSessionsAndThoseEndedWithinAWindow) {
  auto store = SqliteStore::open(path_);
  ASSERT_TRUE(store.ok());
  auto user = (*store)->create_user("ada", "hash", false, 1);
  ASSERT_TRUE(user.ok());
  auto add = [&](const std::string& id, SessionState state, UnixMillis ended_at) {
    Session session = sample_session(user->id);
    session.id = id;
    ASSERT_TRUE((*store)->insert_session(session).ok());
    session.state = state;
    session.ended_at = ended_at;
    ASSERT_TRUE((*store)->update_session(session).ok());
  };
  add("old", SessionState::ended, 1'000);
  add("recent", SessionState::ended, 9'000);
  add("running", SessionState::running, 0);
  SessionFilter window;
  window.ended_since = 5'000;
  auto listed = (*store)->list_sessions(window);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  std::vector<std::string> ids;
  for (const auto& session : *listed) ids.push_back(session.id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"recent", "running"}));
  window.user_id = user->id + 1;
  EXPECT_TRUE((*store)->list_sessions(window)->empty()) << "the other filters still apply";
}

TEST_F(SqliteFile, UsernamesAreUniqueAndUidsDistinct) {
  auto store = std::move(*SqliteStore::open(path_));
  auto first = store->create_user("alice", "h", false, 1);
  auto second = store->create_user("bob", "h", false, 1);
  EXPECT_NE(first->uid, second->uid);
  auto duplicate = store->create_user("alice", "h", true, 2);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, ErrorCode::conflict);
}

TEST_F(SqliteFile, FailedTransactionLeavesNothingBehind) {
  auto store = std::move(*SqliteStore::open(path_));
  auto user = *store->create_user("alice", "h", false, 1);
  auto status = store->in_transaction([&]() -> Status {
    EXPECT_TRUE(store->insert_session(sample_session(user.id)).ok());
    return make_error(ErrorCode::conflict, "changed my mind");
  });
  EXPECT_FALSE(status.ok());
  EXPECT_FALSE(store->get_session("s1")->has_value());
  EXPECT_TRUE(store->session_events("s1")->empty());
}

TEST_F(SqliteFile, KeepsPricesAndEachSessionsMeterAcrossReopen) {
  {
    auto store = std::move(*SqliteStore::open(path_));
    auto user = *store->create_user("alice", "h", false, 1);
    ASSERT_TRUE(store->set_price({"A100-80GB", 1'500'000, 5}).ok());
    ASSERT_TRUE(store->set_price({"A100-80GB", 2'000'000, 6}).ok());  // replaces
    ASSERT_TRUE(store->set_price({"H100-80GB", 0, 7}).ok());
    Session session = sample_session(user.id);
    session.billed_gpu_model = "A100-80GB";
    session.billed_gpus = 0.25;
    session.rate_micros_per_hour = 500'000;
    ASSERT_TRUE(store->insert_session(session).ok());
    EXPECT_FALSE(store->set_price({"T4", -1, 8}).ok()) << "the schema refuses negative prices";
  }
  auto store = std::move(*SqliteStore::open(path_));
  auto prices = *store->list_prices();
  ASSERT_EQ(prices.size(), 2u);
  EXPECT_EQ(prices[0].gpu_model, "A100-80GB");
  EXPECT_EQ(prices[0].micros_per_gpu_hour, 2'000'000);
  EXPECT_EQ(prices[0].updated_at, 6);
  auto session = **store->get_session("s1");
  EXPECT_EQ(session.billed_gpu_model, "A100-80GB");
  EXPECT_EQ(session.billed_gpus, 0.25);
  EXPECT_EQ(session.rate_micros_per_hour, 500'000);
  EXPECT_EQ(session.username, "alice");
}

TEST_F(SqliteFile, TheLedgerIsAppendOnlyChargesOncePerSessionAndTopsUpOncePerKey) {
  {
    auto store = std::move(*SqliteStore::open(path_));
    auto user = *store->create_user("alice", "h", false, 1);
    LedgerEntry top_up{0, user.id, 10, LedgerKind::top_up, 5'000'000, "", "invoice-1", "paid"};
    ASSERT_TRUE(*store->add_ledger_entry(top_up));
    EXPECT_GT(top_up.id, 0);
    LedgerEntry again = top_up;
    EXPECT_FALSE(*store->add_ledger_entry(again)) << "the same key writes nothing";
    LedgerEntry charge{0, user.id, 20, LedgerKind::charge, -1'250'000, "s1", "", ""};
    ASSERT_TRUE(*store->add_ledger_entry(charge));
    LedgerEntry second_charge = charge;
    EXPECT_FALSE(*store->add_ledger_entry(second_charge)) << "one charge per session";
    EXPECT_EQ(*store->ledger_sum(user.id), 3'750'000);
    auto found = *store->find_ledger_entry(user.id, "invoice-1");
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->amount_micros, 5'000'000);
    auto entries = *store->ledger(user.id, 10);
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].kind, LedgerKind::charge) << "newest first";
    EXPECT_EQ(entries[0].session_id, "s1");
  }
  auto database = sqlite::Database::open(path_);
  ASSERT_TRUE(database.ok());
  EXPECT_FALSE(database->execute("UPDATE ledger SET amount_micros = 0").ok());
  EXPECT_FALSE(database->execute("DELETE FROM ledger").ok());
  auto store = std::move(*SqliteStore::open(path_));
  EXPECT_EQ(*store->ledger_sum(1), 3'750'000) << "every entry survives reopening";
}

TEST_F(SqliteFile, RecordsEveryStateChangeAsAnEvent) {
  auto store = std::move(*SqliteStore::open(path_));
  auto user = *store->create_user("alice", "h", false, 1);
  Session session = sample_session(user.id);
  ASSERT_TRUE(store->insert_session(session).ok());
  session.state = SessionState::running;
  session.updated_at = 20;
  ASSERT_TRUE(store->update_session(session).ok());
  ASSERT_TRUE(store->update_session(session).ok());  // no change, no event
  auto events = *store->session_events("s1");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].state, SessionState::running);
  EXPECT_EQ(events[1].at, 20);
}

TEST_F(SqliteFile, CredentialsExpire) {
  auto store = std::move(*SqliteStore::open(path_));
  auto user = *store->create_user("alice", "h", false, 1);
  ASSERT_TRUE(
      store->add_credential({"digest", user.id, CredentialKind::api_token, "cli", "", 1, 100})
          .ok());
  EXPECT_TRUE(store->find_credential("digest", 99)->has_value());
  EXPECT_FALSE(store->find_credential("digest", 100)->has_value());
  ASSERT_TRUE(store->delete_credential("digest").ok());
  EXPECT_FALSE(store->find_credential("digest", 50)->has_value());
}

}  // namespace
}  // namespace gpupool

#include "store/sqlite/database.hpp"

namespace gpupool {
namespace {

// Compiled statements are reused: the same SQL twice at once, again after the first copies
// are done, with other values bound each time, and across a schema change.
TEST(SqliteStatements, AreReusedWithFreshBindingsAndSurviveSchemaChanges) {
  auto database = sqlite::Database::open(":memory:");
  ASSERT_TRUE(database.ok());
  ASSERT_TRUE(database->execute("CREATE TABLE t (k INTEGER, v TEXT)").ok());
  for (int i = 0; i < 5; ++i) {
    auto insert = database->prepare("INSERT INTO t (k, v) VALUES (?1, ?2)");
    ASSERT_TRUE(insert.ok());
    ASSERT_TRUE(insert->bind(1, i).bind(2, "v" + std::to_string(i)).run().ok());
  }
  const char* query = "SELECT v FROM t WHERE k = ?1";
  {
    auto first = database->prepare(query);
    auto second = database->prepare(query);  // while the first is still in use
    ASSERT_TRUE(first.ok() && second.ok());
    first->bind(1, 1);
    second->bind(1, 3);
    ASSERT_TRUE(*first->step() && *second->step());
    EXPECT_EQ(first->column_text(0), "v1");
    EXPECT_EQ(second->column_text(0), "v3");
  }
  for (int i = 0; i < 5; ++i) {
    auto again = database->prepare(query);
    ASSERT_TRUE(again.ok());
    again->bind(1, i);
    ASSERT_TRUE(*again->step());
    EXPECT_EQ(again->column_text(0), "v" + std::to_string(i));
  }
  {
    auto unbound = database->prepare(query);  // bindings of the last use are cleared
    ASSERT_TRUE(unbound.ok());
    EXPECT_FALSE(*unbound->step());
  }
  ASSERT_TRUE(database->execute("ALTER TABLE t ADD COLUMN w TEXT DEFAULT 'x'").ok());
  auto after = database->prepare(query);
  ASSERT_TRUE(after.ok());
  after->bind(1, 2);
  ASSERT_TRUE(*after->step());
  EXPECT_EQ(after->column_text(0), "v2");
}

}  // namespace
}  // namespace gpupool
