#include "store/sqlite/database.hpp"

#include <sys/stat.h>

#include <sqlite3.h>

#include <fmt/format.h>

namespace gpupool::sqlite {

namespace {

Error sql_error(sqlite3* db, std::string_view what) {
  int code = sqlite3_extended_errcode(db);
  auto error_code = (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED
                        ? ErrorCode::unavailable
                        : ErrorCode::internal;
  if ((code & 0xff) == SQLITE_CONSTRAINT) error_code = ErrorCode::conflict;
  return make_error(error_code, fmt::format("database: {}: {}", what, sqlite3_errmsg(db)));
}

}  // namespace

// A compiled statement; back to its connection's idle ones (reset) when done with.
class SqliteCursor final : public sql::Cursor {
 public:
  SqliteCursor(Database& owner, sqlite3_stmt* statement) : owner_(owner), statement_(statement) {}
  SqliteCursor(const SqliteCursor&) = delete;
  SqliteCursor& operator=(const SqliteCursor&) = delete;
  ~SqliteCursor() override {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
    owner_.give_back(statement_);
  }

  void bind_int(int index, std::int64_t value) override {
    sqlite3_bind_int64(statement_, index, value);
  }
  void bind_double(int index, double value) override {
    sqlite3_bind_double(statement_, index, value);
  }
  void bind_text(int index, std::string_view value) override {
    sqlite3_bind_text(statement_, index, value.data(), static_cast<int>(value.size()),
                      SQLITE_TRANSIENT);
  }
  void bind_null(int index) override { sqlite3_bind_null(statement_, index); }

  Result<bool> step() override {
    int code = sqlite3_step(statement_);
    if (code == SQLITE_ROW) return true;
    if (code == SQLITE_DONE) return false;
    return sql_error(owner_.db_, sqlite3_sql(statement_));
  }

  std::int64_t column_int(int index) const override {
    return sqlite3_column_int64(statement_, index);
  }
  double column_double(int index) const override {
    return sqlite3_column_double(statement_, index);
  }
  bool column_is_null(int index) const override {
    return sqlite3_column_type(statement_, index) == SQLITE_NULL;
  }
  int column_count() const override { return sqlite3_column_count(statement_); }
  std::string column_name(int index) const override {
    const char* name = sqlite3_column_name(statement_, index);
    return name == nullptr ? "" : name;
  }
  sql::Value column_value(int index) const override {
    switch (sqlite3_column_type(statement_, index)) {
      case SQLITE_NULL:
        return std::monostate{};
      case SQLITE_INTEGER:
        return column_int(index);
      case SQLITE_FLOAT:
        return column_double(index);
      default:
        return column_text(index);
    }
  }
  std::string column_text(int index) const override {
    const auto* text = sqlite3_column_text(statement_, index);
    if (text == nullptr) return {};
    return {reinterpret_cast<const char*>(text),
            static_cast<std::size_t>(sqlite3_column_bytes(statement_, index))};
  }

 private:
  Database& owner_;
  sqlite3_stmt* statement_;
};

Result<std::unique_ptr<Database>> Database::connect(const std::string& path, int flags,
                                                    ErrorCode failure) {
  sqlite3* handle = nullptr;
  if (sqlite3_open_v2(path.c_str(), &handle, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    std::string message = handle ? sqlite3_errmsg(handle) : "out of memory";
    sqlite3_close(handle);
    return make_error(failure, fmt::format("cannot open database {}: {}", path, message));
  }
  std::unique_ptr<Database> database(new Database(handle));
  sqlite3_busy_timeout(handle, 5000);
  return database;
}

Result<std::unique_ptr<Database>> Database::open(const std::string& path) {
  auto database = connect(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, ErrorCode::unavailable);
  if (!database) return database.error();
  // Reading the schema first makes a corrupt or foreign file fail here, clearly.
  auto check = (*database)->execute(
      "PRAGMA schema_version; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
      "PRAGMA foreign_keys=ON;");
  if (!check) {
    return make_error(ErrorCode::unavailable,
                      fmt::format("{} is not a usable gpupool database ({}); refusing to start",
                                  path, check.error().message));
  }
  return database;
}

Result<std::unique_ptr<Database>> Database::open_reader(const std::string& path) {
  auto database = connect(path, SQLITE_OPEN_READWRITE, ErrorCode::unavailable);
  if (!database) return database.error();
  GPUPOOL_TRY((*database)->execute("PRAGMA query_only=ON; PRAGMA schema_version;"));
  return database;
}

Result<std::unique_ptr<Database>> Database::open_existing(const std::string& path) {
  auto database = connect(path, SQLITE_OPEN_READWRITE, ErrorCode::not_found);
  if (!database) return database.error();
  auto check = (*database)->execute("PRAGMA schema_version;");
  if (!check) {
    return make_error(
        ErrorCode::unavailable,
        fmt::format("{} is not a usable gpupool database ({})", path, check.error().message));
  }
  return database;
}

Status Database::backup_into(const std::string& target) {
  auto statement = prepare("VACUUM INTO ?");
  if (!statement) return statement.error();
  statement->bind(1, target);
  // A copy holds password hashes and token digests: the owner's only, from the start.
  mode_t previous = umask(077);
  auto done = statement->run();
  umask(previous);
  if (!done) {
    return make_error(done.error().code,
                      fmt::format("cannot back up into {}: {}", target, done.error().message));
  }
  return {};
}

void Database::count_changes(std::atomic<std::uint64_t>& counter) {
  sqlite3_update_hook(
      db_,
      [](void* context, int, const char*, const char*, sqlite3_int64) {
        static_cast<std::atomic<std::uint64_t>*>(context)->fetch_add(1);
      },
      &counter);
}

Database::~Database() {
  for (auto& [sql, statement] : idle_) sqlite3_finalize(statement);
  sqlite3_close(db_);
}

void Database::give_back(sqlite3_stmt* statement) {
  const char* sql = sqlite3_sql(statement);
  if (sql == nullptr || idle_.contains(sql)) {
    sqlite3_finalize(statement);  // another copy is idle already
    return;
  }
  idle_.emplace(sql, statement);
}

Result<sql::Statement> Database::prepare(std::string_view sql) {
  if (auto idle = idle_.find(std::string(sql)); idle != idle_.end()) {
    sqlite3_stmt* statement = idle->second;
    idle_.erase(idle);
    return sql::Statement(std::make_unique<SqliteCursor>(*this, statement));
  }
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &statement, nullptr) !=
      SQLITE_OK) {
    return sql_error(db_, sql);
  }
  return sql::Statement(std::make_unique<SqliteCursor>(*this, statement));
}

Status Database::execute(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string detail = message ? message : "unknown error";
    sqlite3_free(message);
    auto error = sql_error(db_, "exec");
    error.message = "database: " + detail;
    return error;
  }
  return {};
}

int Database::changes() const {
  return sqlite3_changes(db_);
}

}  // namespace gpupool::sqlite
