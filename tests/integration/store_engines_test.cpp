// The store's behaviour on every engine it runs on: SQLite, and PostgreSQL where the test run
// started one (tests/postgres/start.sh). Durability across reopen, constraints the database
// itself enforces, atomic transactions; on PostgreSQL also what several servers sharing one
// database must never see: two placements of one quota, two charges, a lost top-up.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "postgres_server.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/database.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace gpupool {
namespace {

class StoreOnEngine : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      char pattern[] = "/tmp/gpupool-store-XXXXXX";
      directory_ = mkdtemp(pattern);
      return;
    }
    postgres_ = testing::PostgresDatabase::make();
    if (!postgres_) GTEST_SKIP() << "no PostgreSQL server for this run (GPUPOOL_TEST_POSTGRES)";
  }
  void TearDown() override {
    if (!directory_.empty()) std::filesystem::remove_all(directory_);
  }

  // The store on this test's database (opened again: what an earlier store wrote).
  std::unique_ptr<SqlStore> open() {
    Result<std::unique_ptr<SqlStore>> store = make_error(ErrorCode::internal, "no engine");
    if (postgres_) {
      auto opened = PostgresStore::open(postgres_->url());
      if (opened)
        store = std::unique_ptr<SqlStore>(std::move(*opened));
      else
        store = opened.error();
    } else {
      auto opened = SqliteStore::open(directory_ + "/gpupool.db");
      if (opened)
        store = std::unique_ptr<SqlStore>(std::move(*opened));
      else
        store = opened.error();
    }
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }

  // A plain connection to the same database, as an admin's SQL shell would have.
  std::unique_ptr<sql::Database> raw() {
    if (postgres_) return std::move(*postgres::Connection::open(postgres_->url(), std::nullopt));
    return std::move(*sqlite::Database::open(directory_ + "/gpupool.db"));
  }

  std::string directory_;
  std::optional<testing::PostgresDatabase> postgres_;
};

INSTANTIATE_TEST_SUITE_P(Engines, StoreOnEngine, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

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

TEST_P(StoreOnEngine, KeepsDataAcrossReopen) {
  {
    auto store = open();
    ASSERT_TRUE(store);
    auto user = store->create_user("alice", "hash", false, 1);
    ASSERT_TRUE(user.ok());
    EXPECT_EQ(user->uid, kFirstSessionUid);
    ASSERT_TRUE(store->insert_session(sample_session(user->id)).ok());
  }
  auto reopened = open();
  ASSERT_TRUE(reopened);
  auto user = reopened->find_user_by_name("alice");
  ASSERT_TRUE(user.ok() && user->has_value());
  auto session = reopened->get_session("s1");
  ASSERT_TRUE(session.ok() && session->has_value());
  EXPECT_EQ((*session)->gpu_indices, (std::vector<int>{1, 3}));
  EXPECT_EQ((*session)->gpu_uuids, (std::vector<std::string>{"GPU-a", "GPU-b"}));
  EXPECT_EQ((*session)->request.max_hours, 1.5);
  EXPECT_EQ((*session)->request.node_selector.at("rack"), "a");
  EXPECT_EQ((*session)->username, "alice");
  EXPECT_EQ((*session)->uid, kFirstSessionUid);
}

TEST_P(StoreOnEngine, KeepsNodesWithTheirTopologyAndDrainSetting) {
  auto store = open();
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

TEST_P(StoreOnEngine, ListsANodesGpusAsLastReportedWhenTheyChangeAndChangeBack) {
  auto store = open();
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

TEST_P(StoreOnEngine, ListsActiveSessionsAndThoseEndedWithinAWindow) {
  auto store = open();
  ASSERT_TRUE(store);
  auto user = store->create_user("ada", "hash", false, 1);
  ASSERT_TRUE(user.ok());
  auto add = [&](const std::string& id, SessionState state, UnixMillis ended_at) {
    Session session = sample_session(user->id);
    session.id = id;
    ASSERT_TRUE(store->insert_session(session).ok());
    session.state = state;
    session.ended_at = ended_at;
    ASSERT_TRUE(store->update_session(session).ok());
  };
  add("old", SessionState::ended, 1'000);
  add("recent", SessionState::ended, 9'000);
  add("running", SessionState::running, 0);
  SessionFilter window;
  window.ended_since = 5'000;
  auto listed = store->list_sessions(window);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  std::vector<std::string> ids;
  for (const auto& session : *listed) ids.push_back(session.id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"recent", "running"}));
  window.user_id = user->id + 1;
  EXPECT_TRUE(store->list_sessions(window)->empty()) << "the other filters still apply";
}

TEST_P(StoreOnEngine, UsernamesAreUniqueAndUidsDistinct) {
  auto store = open();
  auto first = store->create_user("alice", "h", false, 1);
  auto second = store->create_user("bob", "h", false, 1);
  EXPECT_NE(first->uid, second->uid);
  auto duplicate = store->create_user("alice", "h", true, 2);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, ErrorCode::conflict);
}

TEST_P(StoreOnEngine, FailedTransactionLeavesNothingBehind) {
  auto store = open();
  auto user = *store->create_user("alice", "h", false, 1);
  auto status = store->in_transaction([&]() -> Status {
    EXPECT_TRUE(store->insert_session(sample_session(user.id)).ok());
    return make_error(ErrorCode::conflict, "changed my mind");
  });
  EXPECT_FALSE(status.ok());
  EXPECT_FALSE(store->get_session("s1")->has_value());
  EXPECT_TRUE(store->session_events("s1")->empty());
}

TEST_P(StoreOnEngine, KeepsPricesAndEachSessionsMeterAcrossReopen) {
  {
    auto store = open();
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
  auto store = open();
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

TEST_P(StoreOnEngine, TheLedgerIsAppendOnlyChargesOncePerSessionAndTopsUpOncePerKey) {
  {
    auto store = open();
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
  auto database = raw();  // as an admin's SQL shell would, bypassing gpupool
  EXPECT_EQ(database->execute("UPDATE ledger SET amount_micros = 0").error().code,
            ErrorCode::conflict);
  EXPECT_EQ(database->execute("DELETE FROM ledger").error().code, ErrorCode::conflict);
  auto store = open();
  EXPECT_EQ(*store->ledger_sum(1), 3'750'000) << "every entry survives reopening";
}

TEST_P(StoreOnEngine, RecordsEveryStateChangeAsAnEvent) {
  auto store = open();
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

TEST_P(StoreOnEngine, CredentialsExpire) {
  auto store = open();
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
