#include "app/migrate_store_command.hpp"

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "app/store_choice.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/sqlite_import.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace gpupool::app {

namespace {

int fail(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  return 1;
}

// Removed however the migration ends: it holds password hashes.
struct Snapshot {
  std::string path;
  explicit Snapshot(std::string where) : path(std::move(where)) {}
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;
  ~Snapshot() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

}  // namespace

int run_migrate_store(const std::string& from, const std::string& to) {
  if (!from.starts_with("sqlite:") || !is_postgres_url(to))
    return fail("give --from sqlite:PATH and --to postgres://USER@HOST:PORT/DB");
  std::string path = from.substr(7);
  if (!std::filesystem::exists(path)) return fail(fmt::format("no database at {}", path));
  Snapshot snapshot{fmt::format("{}.migrate-{}", path, getpid())};
  if (auto copied = SqliteStore::backup(path, snapshot.path); !copied)
    return fail(copied.error().message);
  auto copied = import_sqlite(snapshot.path, to);
  if (!copied)
    return fail(fmt::format("{}: {}", postgres::without_password(to), copied.error().message));
  std::size_t rows = 0;
  for (const auto& count : *copied) rows += count.rows;
  std::cout << fmt::format(
      "copied {} rows in {} tables from {} (as of now); every table checked "
      "equal:\n",
      rows, copied->size(), path);
  for (const auto& count : *copied)
    std::cout << fmt::format("  {:<24} {}\n", count.table, count.rows);
  std::cout << fmt::format("start the servers with --store {}\n", postgres::without_password(to));
  return 0;
}

}  // namespace gpupool::app
