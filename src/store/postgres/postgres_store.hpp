// PostgresStore: the Store on PostgreSQL, for several gpupool servers on one database.
//
// The same queries and migrations as SQLite (sql/), with the same guarantees: every write
// transaction of every server takes one transaction-level advisory lock first (as SQLite's
// BEGIN IMMEDIATE takes the file's lock), so a quota check and its insert, or a placement,
// never interleave with another server's; the ledger's append-only rule is the database's
// own trigger; commits are synchronous. A listening connection hears every server's changes
// (a trigger on each table NOTIFYs), so live views and held syncs wake at once.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres/leader_lease.hpp"
#include "store/sql/sql_store.hpp"

namespace gpupool {

namespace postgres {
class Connection;
}

// The advisory lock every write transaction takes (an arbitrary, fixed 64-bit key).
inline constexpr std::int64_t kWriteLockKey = 0x67707570'6f6f6c01;

// Sets every identity column's sequence to go on after the largest id its table holds (after
// rows were copied in with their ids).
inline constexpr const char* kResumeIdentities =
    "DO $$ DECLARE r record; BEGIN FOR r IN SELECT table_name, column_name FROM "
    "information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES' "
    "LOOP EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), coalesce((SELECT "
    "max(%I) FROM %I), 0) + 1, false)', r.table_name, r.column_name, r.column_name, "
    "r.table_name); END LOOP; END $$";

// The SQLite text of a migration as PostgreSQL runs it: 64-bit integers, doubles, identity
// ids (for migrations without a .postgres.sql of their own).
std::string postgres_schema(std::string_view sqlite_sql);

class PostgresStore final : public SqlStore {
 public:
  static Result<std::unique_ptr<PostgresStore>> open(const std::string& url);
  ~PostgresStore() override;

  void on_external_change(const std::function<void()>& callback) override;
  bool leads() const override;

  // Competes for the lease from now on (leader_lease.hpp); `on_lead` runs whenever this
  // server becomes the leader. Without it, this store always leads (one server).
  void lead_when_possible(const std::string& holder, std::function<void()> on_lead);
  // Stops competing for the lease (letting it go) and listening: no callback runs after.
  void stop();
  // The lease's epoch and holder as the database has them.
  Result<std::pair<std::int64_t, std::string>> leader();
  // Takes the next epoch for `holder` (the lease's lock held): returns it.
  Result<std::int64_t> claim_leadership(const std::string& holder);

 private:
  PostgresStore(std::unique_ptr<postgres::Connection> writer, std::string url);
  Status begin_transaction() override;
  Status check_transaction() override;
  Result<int> schema_version() override;
  Status set_schema_version(int version) override;
  std::string migration_text(const migrations::Migration& migration) override;
  Status prepare_database();
  Status install_change_triggers();
  void listen();  // the listener thread

  const std::string url_;
  std::mutex listeners_mutex_;
  std::vector<std::function<void()>> listeners_;  // guarded by listeners_mutex_
  std::atomic<bool> stopping_{false};
  std::thread listener_;
  std::unique_ptr<LeaderLease> lease_;  // set once, before the server serves
};

}  // namespace gpupool
