#include "store/postgres/connection.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <regex>
#include <vector>

#include <fmt/format.h>

namespace gpupool::postgres {

namespace {

// Type OIDs (PostgreSQL's pg_type.dat): what parameters are sent as, columns read back as.
constexpr unsigned kInt8 = 20;
constexpr unsigned kInt2 = 21;
constexpr unsigned kInt4 = 23;
constexpr unsigned kText = 25;
constexpr unsigned kFloat4 = 700;
constexpr unsigned kFloat8 = 701;
constexpr unsigned kNumeric = 1700;

std::string trimmed(const char* text) {
  std::string message = text == nullptr ? "" : text;
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

bool starts_with_word(std::string_view sql, std::string_view word) {
  while (!sql.empty() && (sql.front() == ' ' || sql.front() == '\n')) sql.remove_prefix(1);
  if (sql.size() < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(sql[i])) != word[i]) return false;
  }
  return true;
}

bool is_write(std::string_view sql) {
  return starts_with_word(sql, "INSERT") || starts_with_word(sql, "UPDATE") ||
         starts_with_word(sql, "DELETE");
}

// Owns one PGresult.
struct ResultHolder {
  PGresult* result = nullptr;
  ResultHolder() = default;
  explicit ResultHolder(PGresult* r) : result(r) {}
  ResultHolder(const ResultHolder&) = delete;
  ResultHolder& operator=(const ResultHolder&) = delete;
  ResultHolder& operator=(ResultHolder&& other) noexcept {
    std::swap(result, other.result);
    return *this;
  }
  ~ResultHolder() { PQclear(result); }
};

bool succeeded(PGresult* result) {
  auto status = PQresultStatus(result);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

}  // namespace

ErrorCode error_code_of(std::string_view sqlstate) {
  if (sqlstate.starts_with("23")) return ErrorCode::conflict;
  if (sqlstate.starts_with("08") || sqlstate.starts_with("53") || sqlstate.starts_with("57P") ||
      sqlstate == "55P03" || sqlstate == "40001" || sqlstate == "40P01" || sqlstate.empty()) {
    return ErrorCode::unavailable;
  }
  return ErrorCode::internal;
}

std::string without_password(const std::string& url) {
  static const std::regex userinfo(R"(^(postgres(ql)?://[^:@/]*):[^@/]*@)");
  static const std::regex keyword(R"(password=[^&\s]*)");
  return std::regex_replace(std::regex_replace(url, userinfo, "$1:***@"), keyword, "password=***");
}

std::string numbered_parameters(std::string_view sql, std::vector<bool>& used) {
  std::string out;
  out.reserve(sql.size());
  used.clear();
  bool quoted = false;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (c == '\'') quoted = !quoted;
    if (c != '?' || quoted) {
      out.push_back(c);
      continue;
    }
    out.push_back('$');
    int number = 0;
    while (i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
      number = number * 10 + (sql[++i] - '0');
      out.push_back(sql[i]);
    }
    if (number < 1) continue;
    if (used.size() < static_cast<std::size_t>(number))
      used.resize(static_cast<std::size_t>(number));
    used[static_cast<std::size_t>(number) - 1] = true;
  }
  return out;
}

// A statement's parameters as text, run on the first step; its rows read from the answer.
class PostgresCursor final : public sql::Cursor {
 public:
  // A parameter the SQL never names is typed text: PostgreSQL cannot infer a type for it.
  PostgresCursor(Connection& owner, std::string sql, const std::vector<bool>& used)
      : owner_(owner), sql_(std::move(sql)), used_(used), values_(used.size()) {
    for (bool named : used_) types_.push_back(named ? 'n' : 't');
  }

  void bind_int(int index, std::int64_t value) override { set(index, 'i', std::to_string(value)); }
  void bind_double(int index, double value) override { set(index, 'd', fmt::format("{}", value)); }
  void bind_text(int index, std::string_view value) override {
    set(index, 't', std::string(value));
  }
  void bind_null(int index) override {
    if (index < 1 || index > static_cast<int>(values_.size())) return;
    values_[index - 1].reset();
    types_[index - 1] = used_[index - 1] ? 'n' : 't';
  }

  Result<bool> step() override {
    if (!ran_) {
      ran_ = true;
      GPUPOOL_TRY(run());
    }
    return ++row_ < PQntuples(answer_.result);
  }

  std::int64_t column_int(int index) const override {
    const char* text = PQgetvalue(answer_.result, row_, index);
    if (text[0] == 't' && text[1] == '\0') return 1;  // a boolean
    if (text[0] == 'f' && text[1] == '\0') return 0;
    return std::strtoll(text, nullptr, 10);
  }
  double column_double(int index) const override {
    return std::strtod(PQgetvalue(answer_.result, row_, index), nullptr);
  }
  std::string column_text(int index) const override {
    return {PQgetvalue(answer_.result, row_, index),
            static_cast<std::size_t>(PQgetlength(answer_.result, row_, index))};
  }
  bool column_is_null(int index) const override {
    return PQgetisnull(answer_.result, row_, index) != 0;
  }
  int column_count() const override { return PQnfields(answer_.result); }
  std::string column_name(int index) const override { return PQfname(answer_.result, index); }
  sql::Value column_value(int index) const override {
    if (column_is_null(index)) return std::monostate{};
    switch (PQftype(answer_.result, index)) {
      case kInt8:
      case kInt4:
      case kInt2:
        return column_int(index);
      case kFloat8:
      case kFloat4:
      case kNumeric:
        return column_double(index);
      default:
        return column_text(index);
    }
  }

 private:
  void set(int index, char type, std::string text) {
    if (index < 1 || index > static_cast<int>(values_.size())) return;
    values_[index - 1] = std::move(text);
    types_[index - 1] = type;
  }

  Status run() {
    GPUPOOL_TRY(owner_.ensure_connected());
    bool locked = owner_.write_lock_ && !owner_.transaction_open_ && is_write(sql_);
    if (locked) {
      GPUPOOL_TRY(owner_.execute(
          fmt::format("BEGIN; SELECT pg_advisory_xact_lock({})", *owner_.write_lock_)));
    }
    auto ran = execute_prepared();
    if (!locked) return ran;
    if (!ran) {
      (void)owner_.execute("ROLLBACK");
      return ran;
    }
    return owner_.execute("COMMIT");
  }

  Status execute_prepared() {
    auto name = owner_.prepared(sql_, types_, static_cast<int>(values_.size()));
    if (!name) return name.error();
    std::vector<const char*> values;
    values.reserve(values_.size());
    for (const auto& value : values_) values.push_back(value ? value->c_str() : nullptr);
    answer_ = ResultHolder(PQexecPrepared(owner_.connection_, name->c_str(),
                                          static_cast<int>(values.size()), values.data(), nullptr,
                                          nullptr, 0));
    owner_.note_transaction_state();
    if (!succeeded(answer_.result)) return owner_.error_of(answer_.result, sql_);
    if (is_write(sql_)) owner_.counted(std::atoi(PQcmdTuples(answer_.result)));
    return {};
  }

  Connection& owner_;
  std::string sql_;
  std::vector<bool> used_;
  std::vector<std::optional<std::string>> values_;
  std::string types_;  // one letter per parameter: i(nteger), d(ouble), t(ext), n(ull)
  bool ran_ = false;
  int row_ = -1;
  ResultHolder answer_;
};

Result<std::unique_ptr<Connection>> Connection::open(const std::string& url,
                                                     std::optional<std::int64_t> write_lock) {
  // Defaults first: what the URL names wins. Keepalives notice a vanished server within
  // about 25 s even while nothing is sent.
  const char* keywords[] = {
      "connect_timeout",  "keepalives",       "keepalives_idle", "keepalives_interval",
      "keepalives_count", "application_name", "dbname",          nullptr};
  const char* values[] = {"5", "1", "10", "5", "3", "gpupool", url.c_str(), nullptr};
  pg_conn* connection = PQconnectdbParams(keywords, values, 1);
  if (connection == nullptr) return make_error(ErrorCode::unavailable, "out of memory");
  std::unique_ptr<Connection> opened(new Connection(connection, write_lock));
  if (PQstatus(connection) != CONNECTION_OK) {
    return make_error(ErrorCode::unavailable, fmt::format("cannot connect to PostgreSQL: {}",
                                                          trimmed(PQerrorMessage(connection))));
  }
  GPUPOOL_TRY(opened->configure());
  return opened;
}

Connection::~Connection() {
  PQfinish(connection_);
}

Status Connection::configure() {
  PQsetNoticeProcessor(
      connection_, [](void*, const char*) {}, nullptr);
  prepared_.clear();
  backend_pid_ = PQbackendPID(connection_);
  // Money is written with synchronous commit whatever the server's default; a lock held
  // too long by another server is an error to retry, not a hang.
  return execute(
      "SET synchronous_commit = on; SET lock_timeout = '20s'; SET client_min_messages = "
      "warning; SET TIME ZONE 'UTC'");
}

Status Connection::ensure_connected() {
  if (PQstatus(connection_) == CONNECTION_OK) return {};
  if (transaction_open_) {
    return make_error(ErrorCode::unavailable,
                      "the connection to PostgreSQL was lost in the middle of a transaction");
  }
  PQreset(connection_);
  if (PQstatus(connection_) != CONNECTION_OK) {
    return make_error(ErrorCode::unavailable, fmt::format("PostgreSQL is unreachable: {}",
                                                          trimmed(PQerrorMessage(connection_))));
  }
  return configure();
}

bool Connection::connected() const {
  return PQstatus(connection_) == CONNECTION_OK;
}

void Connection::note_transaction_state() {
  switch (PQtransactionStatus(connection_)) {
    case PQTRANS_IDLE:
      transaction_open_ = false;
      break;
    case PQTRANS_INTRANS:
    case PQTRANS_INERROR:
    case PQTRANS_ACTIVE:
      transaction_open_ = true;
      break;
    case PQTRANS_UNKNOWN:  // the connection is gone: what was open stays open until rolled back
      break;
  }
}

Error Connection::error_of(PGresult* result, std::string_view what) const {
  const char* sqlstate = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = result ? trimmed(PQresultErrorMessage(result)) : "";
  if (message.empty()) message = trimmed(PQerrorMessage(connection_));
  ErrorCode code = PQstatus(connection_) != CONNECTION_OK ? ErrorCode::unavailable
                                                          : error_code_of(sqlstate ? sqlstate : "");
  // The statement's start says which one failed; a migration's whole text would drown it.
  constexpr std::size_t kShown = 160;
  std::string shown(what.substr(0, kShown));
  if (what.size() > kShown) shown += "…";
  return make_error(code, fmt::format("database: {}: {}", shown, message));
}

void Connection::counted(int rows) {
  changes_ = rows;
  if (rows > 0 && counter_ != nullptr) counter_->fetch_add(1);
}

Result<std::string> Connection::prepared(const std::string& sql, const std::string& types,
                                         int count) {
  std::string key = types + '\x1f' + sql;
  if (auto found = prepared_.find(key); found != prepared_.end()) return found->second;
  std::string name = fmt::format("gpupool_{}", prepared_.size());
  std::vector<unsigned> oids;
  for (char type : types)
    oids.push_back(type == 'i' ? kInt8 : type == 'd' ? kFloat8 : type == 't' ? kText : 0);
  ResultHolder made(PQprepare(connection_, name.c_str(), sql.c_str(), count, oids.data()));
  note_transaction_state();
  if (!succeeded(made.result)) return error_of(made.result, sql);
  prepared_.emplace(std::move(key), name);
  return name;
}

Result<sql::Statement> Connection::prepare(std::string_view sql) {
  std::vector<bool> used;
  std::string numbered = numbered_parameters(sql, used);
  return sql::Statement(std::make_unique<PostgresCursor>(*this, std::move(numbered), used));
}

Status Connection::execute(std::string_view sql) {
  if (starts_with_word(sql, "ROLLBACK") && PQstatus(connection_) != CONNECTION_OK) {
    transaction_open_ = false;  // the server rolled it back when the connection went
    return {};
  }
  GPUPOOL_TRY(ensure_connected());
  std::string text(sql);
  ResultHolder answer(PQexec(connection_, text.c_str()));
  note_transaction_state();
  if (!succeeded(answer.result)) return error_of(answer.result, text);
  if (is_write(text)) counted(std::atoi(PQcmdTuples(answer.result)));
  return {};
}

}  // namespace gpupool::postgres
