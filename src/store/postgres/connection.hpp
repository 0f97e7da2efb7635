// The PostgreSQL engine behind sql::Database: one libpq connection.
//
// The store's SQL numbers its parameters `?N`; PostgreSQL's are `$N`, and each statement is
// prepared on the server once per kind of values bound (an integer binds as bigint, a real as
// double precision, text as text), so a parameter compared with a literal is never narrowed
// to the literal's type. Results come as text and are read back into numbers here.
//
// A lost connection is made again at the next use, unless a transaction was open on it: its
// work is gone, so everything fails as unavailable until the owner rolls back. With
// `write_lock` set, a write outside a transaction takes that transaction-level advisory lock
// first, as every transaction of the store does: all writes of every server are serialized,
// the guarantee SQLite's single writer gives.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/sql/database.hpp"

struct pg_conn;
struct pg_result;

namespace gpupool::postgres {

// Where a value is read from PostgreSQL's answer of `code` (SQLSTATE): lost connections,
// lock timeouts and a shutting-down server are `unavailable` (try again), constraint
// violations `conflict`, anything else `internal`.
ErrorCode error_code_of(std::string_view sqlstate);

// The URL as logs may show it: any password replaced by "***".
std::string without_password(const std::string& url);

// `?N` parameters as `$N`, leaving quoted text alone; `used[N-1]` says whether `?N` appears.
std::string numbered_parameters(std::string_view sql, std::vector<bool>& used);

class Connection final : public sql::Database {
 public:
  // `url`: a libpq connection string or URI (postgres://user@host:port/db?sslmode=…).
  static Result<std::unique_ptr<Connection>> open(const std::string& url,
                                                  std::optional<std::int64_t> write_lock);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() override;

  Result<sql::Statement> prepare(std::string_view sql) override;
  Status execute(std::string_view sql) override;
  int changes() const override { return changes_; }
  void count_changes(std::atomic<std::uint64_t>& counter) override { counter_ = &counter; }

  // The raw connection, for LISTEN and advisory session locks (connection.cpp's callers).
  pg_conn* handle() { return connection_; }
  // The server process serving this connection (NOTIFY names it); any thread may ask.
  int backend_pid() const { return backend_pid_.load(); }
  // Connects again if the connection was lost (never inside an open transaction).
  Status ensure_connected();
  // Whether the connection is up, as of the last exchange (nothing is sent).
  bool connected() const;

 private:
  friend class PostgresCursor;
  Connection(pg_conn* connection, std::optional<std::int64_t> write_lock)
      : connection_(connection), write_lock_(write_lock) {}
  Status configure();
  // Keeps `transaction_open_` as the server last said (a lost connection leaves it as it was).
  void note_transaction_state();
  // The server-side name of `sql` prepared for `types` (one letter per parameter).
  Result<std::string> prepared(const std::string& sql, const std::string& types, int count);
  Error error_of(pg_result* result, std::string_view what) const;
  void counted(int rows);

  pg_conn* connection_;
  std::optional<std::int64_t> write_lock_;
  bool transaction_open_ = false;
  int changes_ = 0;
  std::atomic<std::uint64_t>* counter_ = nullptr;
  std::atomic<int> backend_pid_{0};
  std::unordered_map<std::string, std::string> prepared_;  // SQL + types → statement name
};

}  // namespace gpupool::postgres
