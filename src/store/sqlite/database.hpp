// The SQLite engine behind sql::Database: one connection and its prepared statements.
//
// Not thread-safe by itself: SqliteStore serializes all use behind its mutex. SQLite
// result codes become Errors here, once.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"
#include "store/sql/database.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace gpupool::sqlite {

class Database final : public sql::Database {
 public:
  // Opens (creating if needed) the file, with WAL and synchronous=FULL so an acknowledged
  // write survives a power cut. A file that is not a database is an error, not a reset.
  static Result<std::unique_ptr<Database>> open(const std::string& path);
  // A second, read-only connection to a database `open` has opened (WAL: it reads the last
  // commit while the writer waits for or holds the write lock).
  static Result<std::unique_ptr<Database>> open_reader(const std::string& path);
  // Opens a database that must exist already, changing nothing about it (for backups).
  static Result<std::unique_ptr<Database>> open_existing(const std::string& path);

  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database() override;

  Result<sql::Statement> prepare(std::string_view sql) override;
  Status execute(std::string_view sql) override;
  int changes() const override;
  // Writes a consistent copy of the whole database to `target` (which must not exist yet),
  // from one read snapshot: writers carry on meanwhile. The copy is compact and complete.
  Status backup_into(const std::string& target);
  void count_changes(std::atomic<std::uint64_t>& counter) override;

 private:
  friend class SqliteCursor;
  explicit Database(sqlite3* db) : db_(db) {}
  // A connection with the given open flags (NOMUTEX added) and a busy timeout.
  static Result<std::unique_ptr<Database>> connect(const std::string& path, int flags,
                                                   ErrorCode failure);
  void give_back(sqlite3_stmt* statement);

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> idle_;  // compiled statements by SQL text
};

}  // namespace gpupool::sqlite
