// What the store's queries need of a database engine: a connection that prepares statements,
// and statements that bind parameters, step through rows and read columns.
//
// The store writes its SQL once, in the dialect SQLite and PostgreSQL share (numbered `?N`
// parameters, `ON CONFLICT`, `RETURNING`); each engine's connection (sqlite/, postgres/)
// turns it into what its engine runs. Not thread-safe: the store serializes use of each
// connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace gpupool::sql {

// One value of a row, typed as the engine holds it (for copying whole tables).
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;

// One prepared statement, as its engine runs it. Parameters left unbound are NULL.
class Cursor {
 public:
  virtual ~Cursor() = default;
  virtual void bind_int(int index, std::int64_t value) = 0;
  virtual void bind_double(int index, double value) = 0;
  virtual void bind_text(int index, std::string_view value) = 0;
  virtual void bind_null(int index) = 0;
  // Advances to the next row: true with a row, false when done; an Error on failure.
  virtual Result<bool> step() = 0;
  virtual std::int64_t column_int(int index) const = 0;
  virtual double column_double(int index) const = 0;
  virtual std::string column_text(int index) const = 0;
  virtual bool column_is_null(int index) const = 0;
  virtual int column_count() const = 0;
  virtual std::string column_name(int index) const = 0;
  virtual Value column_value(int index) const = 0;
};

class Statement {
 public:
  explicit Statement(std::unique_ptr<Cursor> cursor) : cursor_(std::move(cursor)) {}

  Statement& bind(int index, std::int64_t value) {
    cursor_->bind_int(index, value);
    return *this;
  }
  Statement& bind(int index, double value) {
    cursor_->bind_double(index, value);
    return *this;
  }
  Statement& bind(int index, std::optional<std::int64_t> value) {  // none: NULL
    if (value) return bind(index, *value);
    cursor_->bind_null(index);
    return *this;
  }
  Statement& bind(int index, std::string_view value) {
    cursor_->bind_text(index, value);
    return *this;
  }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  Statement& bind(int index, int value) { return bind(index, std::int64_t{value}); }
  Statement& bind(int index, bool value) { return bind(index, std::int64_t{value ? 1 : 0}); }

  Result<bool> step() { return cursor_->step(); }
  // Runs to completion, for statements that return no rows.
  Status run() {
    while (true) {
      auto row = step();
      if (!row) return row.error();
      if (!*row) return {};
    }
  }

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

  std::int64_t column_int(int index) const { return cursor_->column_int(index); }
  double column_double(int index) const { return cursor_->column_double(index); }
  std::string column_text(int index) const { return cursor_->column_text(index); }
  bool column_is_null(int index) const { return cursor_->column_is_null(index); }
  int column_count() const { return cursor_->column_count(); }
  std::string column_name(int index) const { return cursor_->column_name(index); }
  Value column_value(int index) const { return cursor_->column_value(index); }
  Statement& bind(int index, const Value& value) {
    if (const auto* number = std::get_if<std::int64_t>(&value)) return bind(index, *number);
    if (const auto* real = std::get_if<double>(&value)) return bind(index, *real);
    if (const auto* text = std::get_if<std::string>(&value)) return bind(index, *text);
    cursor_->bind_null(index);
    return *this;
  }

 private:
  std::unique_ptr<Cursor> cursor_;
};

class Database {
 public:
  virtual ~Database() = default;
  // Compiles `sql`, or reuses what an earlier call compiled: the same few queries run on
  // every request, and compiling them is most of their cost.
  virtual Result<Statement> prepare(std::string_view sql) = 0;
  virtual Status execute(std::string_view sql) = 0;  // one or more statements, no rows
  // Rows the last finished INSERT, UPDATE or DELETE changed.
  virtual int changes() const = 0;
  // Adds one to `counter` whenever rows change from now on (at least once per change).
  virtual void count_changes(std::atomic<std::uint64_t>& counter) = 0;
};

}  // namespace gpupool::sql
