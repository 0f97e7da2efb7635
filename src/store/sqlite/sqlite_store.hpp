// SqliteStore: the Store on one SQLite file (WAL, synchronous=FULL), the embedded default.
//
// A write transaction is BEGIN IMMEDIATE: it takes the file's write lock at once, so a
// check-then-insert (a quota, a placement) cannot interleave with another process's. Reads
// from other threads use a second connection: WAL lets them read the last commit while a
// writer waits for the lock (another process holding it for seconds).
#pragma once

#include <memory>
#include <string>

#include "store/sql/sql_store.hpp"

namespace gpupool {

class SqliteStore final : public SqlStore {
 public:
  // `path` may be ":memory:" for tests. Before migrating an existing database, a copy of it
  // is kept beside it (`<path>.v<version>-backup`, the first time that version is left).
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);
  // A consistent online copy of the database at `path` into `target` (not existing yet), while
  // a server may be writing to it. Neither migrates nor changes the source.
  static Status backup(const std::string& path, const std::string& target);

 private:
  SqliteStore(std::unique_ptr<sql::Database> writer, std::string path)
      : SqlStore(std::move(writer)), path_(std::move(path)) {}

  Status begin_transaction() override;
  Result<int> schema_version() override;
  Status set_schema_version(int version) override;
  std::string migration_text(const migrations::Migration& migration) override;
  Status before_upgrade(int from, int to) override;

  const std::string path_;
};

}  // namespace gpupool
