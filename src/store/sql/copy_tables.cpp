#include "store/sql/copy_tables.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

namespace gpupool::sql {

namespace {

// Table names come from the database's own catalog; still, only plain names go into SQL.
Status check_name(const std::string& name) {
  bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
  if (plain) return {};
  return make_error(ErrorCode::invalid_argument, fmt::format("unexpected table name \"{}\"", name));
}

Result<std::vector<std::string>> column_names(Database& database, const std::string& table) {
  GPUPOOL_TRY(check_name(table));
  auto query = database.prepare(fmt::format("SELECT name FROM pragma_table_info('{}')", table));
  if (!query) return query.error();
  auto names = query->collect<std::string>([](const Statement& row) { return row.column_text(0); });
  if (!names) return names.error();
  for (const auto& name : *names) GPUPOOL_TRY(check_name(name));
  return names;
}

// A row as one comparable string: each value tagged with its kind (numbers compare by
// value: a double reads back bit for bit from either engine's text).
std::string row_key(const Statement& row, int columns) {
  std::string key;
  for (int i = 0; i < columns; ++i) {
    Value value = row.column_value(i);
    if (const auto* number = std::get_if<std::int64_t>(&value)) {
      key += fmt::format("i{}", *number);
    } else if (const auto* real = std::get_if<double>(&value)) {
      key += fmt::format("d{}", *real);
    } else if (const auto* text = std::get_if<std::string>(&value)) {
      key += "t" + *text;
    } else {
      key += "n";
    }
    key += '\x1f';
  }
  return key;
}

Result<std::vector<std::string>> sorted_rows(Database& database, const std::string& table,
                                             const std::string& columns, int count) {
  auto query = database.prepare(fmt::format("SELECT {} FROM {}", columns, table));
  if (!query) return query.error();
  auto rows =
      query->collect<std::string>([count](const Statement& row) { return row_key(row, count); });
  if (!rows) return rows.error();
  std::sort(rows->begin(), rows->end());
  return rows;
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

}  // namespace

Result<std::vector<std::string>> sqlite_tables(Database& sqlite) {
  auto query = sqlite.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY "
      "name");
  if (!query) return query.error();
  auto names = query->collect<std::string>([](const Statement& row) { return row.column_text(0); });
  if (!names) return names.error();
  std::map<std::string, std::set<std::string>> references;
  for (const auto& name : *names) {
    GPUPOOL_TRY(check_name(name));
    auto keys =
        sqlite.prepare(fmt::format("SELECT \"table\" FROM pragma_foreign_key_list('{}')", name));
    if (!keys) return keys.error();
    auto targets =
        keys->collect<std::string>([](const Statement& row) { return row.column_text(0); });
    if (!targets) return targets.error();
    for (const auto& target : *targets) {
      if (target != name) references[name].insert(target);
    }
  }
  std::vector<std::string> ordered;
  std::set<std::string> placed;
  while (ordered.size() < names->size()) {
    bool progressed = false;
    for (const auto& name : *names) {
      if (placed.contains(name)) continue;
      const auto& needs = references[name];
      if (std::all_of(needs.begin(), needs.end(),
                      [&](const std::string& need) { return placed.contains(need); })) {
        ordered.push_back(name);
        placed.insert(name);
        progressed = true;
      }
    }
    if (!progressed)
      return make_error(ErrorCode::internal, "the tables' foreign keys form a cycle");
  }
  return ordered;
}

Result<std::vector<TableCount>> copy_tables(Database& from, Database& to,
                                            const std::vector<std::string>& tables) {
  std::vector<TableCount> counts;
  for (const auto& table : tables) {
    auto columns = column_names(from, table);
    if (!columns) return columns.error();
    std::string placeholders;
    for (std::size_t i = 1; i <= columns->size(); ++i)
      placeholders += fmt::format("{}?{}", i == 1 ? "" : ", ", i);
    auto read = from.prepare(fmt::format("SELECT {} FROM {}", joined(*columns), table));
    if (!read) return read.error();
    std::string insert_sql =
        fmt::format("INSERT INTO {} ({}) VALUES ({})", table, joined(*columns), placeholders);
    TableCount count{table, 0};
    while (true) {
      auto row = read->step();
      if (!row) return row.error();
      if (!*row) break;
      auto insert = to.prepare(insert_sql);
      if (!insert) return insert.error();
      for (int i = 0; i < static_cast<int>(columns->size()); ++i)
        insert->bind(i + 1, read->column_value(i));
      if (auto done = insert->run(); !done) {
        return make_error(done.error().code,
                          fmt::format("copying {}: {}", table, done.error().message));
      }
      ++count.rows;
    }
    counts.push_back(count);
  }
  return counts;
}

Status same_rows(Database& first, Database& second, const std::string& table) {
  auto columns = column_names(first, table);
  if (!columns) return columns.error();
  int count = static_cast<int>(columns->size());
  auto left = sorted_rows(first, table, joined(*columns), count);
  if (!left) return left.error();
  auto right = sorted_rows(second, table, joined(*columns), count);
  if (!right) return right.error();
  if (*left == *right) return {};
  return make_error(ErrorCode::internal,
                    fmt::format("{}: {} rows in the source, {} in the copy, and they differ", table,
                                left->size(), right->size()));
}

}  // namespace gpupool::sql
