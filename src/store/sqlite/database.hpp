// A thin RAII layer over the SQLite C API: one connection and prepared statements.
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

struct sqlite3;
struct sqlite3_stmt;

namespace gpupool::sqlite {

class Database;

class Statement {
 public:
  // With `cache`, the statement goes back to it (reset) when done instead of being finalized.
  Statement(sqlite3* db, sqlite3_stmt* statement, Database* cache = nullptr)
      : db_(db), statement_(statement), cache_(cache) {}
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, double value);
  Statement& bind(int index, std::optional<std::int64_t> value);  // none: NULL
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  Statement& bind(int index, int value) { return bind(index, std::int64_t{value}); }
  Statement& bind(int index, bool value) { return bind(index, std::int64_t{value ? 1 : 0}); }

  // Advances to the next row: true with a row, false when done; an Error on failure.
  Result<bool> step();
  // Runs to completion, for statements that return no rows.
  Status run();

  // Steps through every row, turning each into a T with `read(const Statement&)`.
  template <typename T, typename Reader>
  Result<std::vector<T>> collect(Reader read) {
    std::vector<T> rows;
    while (true) {
      auto row = step();
      if (!row) return row.error();
      if (!*row) return rows;
      rows.push_back(read(*this));
    }
  }

  std::int64_t column_int(int index) const;
  double column_double(int index) const;
  std::string column_text(int index) const;
  bool column_is_null(int index) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* statement_;
  Database* cache_;
};

class Database {
 public:
  // Opens (creating if needed) the file, with WAL and synchronous=FULL so an acknowledged
  // write survives a power cut. A file that is not a database is an error, not a reset.
  static Result<Database> open(const std::string& path);
  // A second, read-only connection to a database `open` has opened (WAL: it reads the last
  // commit while the writer waits for or holds the write lock).
  static Result<Database> open_reader(const std::string& path);
  // Opens a database that must exist already, changing nothing about it (for backups).
  static Result<Database> open_existing(const std::string& path);

  Database(Database&& other) noexcept : db_(other.db_), idle_(std::move(other.idle_)) {
    other.db_ = nullptr;
    other.idle_.clear();
  }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  Database& operator=(Database&&) = delete;
  ~Database();

  // Compiles `sql`, or reuses the compiled statement of an earlier call that is done with it:
  // the same few queries run on every request, and compiling them is most of their cost.
  // Like every use of a Database, not thread-safe: the owner serializes calls.
  Result<Statement> prepare(std::string_view sql);
  Status execute(std::string_view sql);  // one or more statements, no rows
  std::int64_t last_insert_rowid() const;
  int changes() const;
  // Writes a consistent copy of the whole database to `target` (which must not exist yet),
  // from one read snapshot: writers carry on meanwhile. The copy is compact and complete.
  Status backup_into(const std::string& target);
  // Adds one to `counter` for every row inserted, updated or deleted from now on.
  void count_changes(std::atomic<std::uint64_t>& counter);

 private:
  friend class Statement;
  explicit Database(sqlite3* db) : db_(db) {}
  // A connection with the given open flags (NOMUTEX added) and a busy timeout.
  static Result<Database> connect(const std::string& path, int flags, ErrorCode failure);
  void give_back(sqlite3_stmt* statement);

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> idle_;  // compiled statements by SQL text
};

}  // namespace gpupool::sqlite
