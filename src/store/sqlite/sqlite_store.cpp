#include "store/sqlite/sqlite_store.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "core/log.hpp"
#include "store/sqlite/database.hpp"

namespace gpupool {

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  auto writer = sqlite::Database::open(path);
  if (!writer) return writer.error();
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(*writer), path));
  GPUPOOL_TRY(store->migrate());
  if (path == ":memory:") return store;  // a second connection would be another database
  // Connected once the schema is made: it reads what the writer migrated.
  auto reader = sqlite::Database::open_reader(path);
  if (!reader) return reader.error();
  store->set_reader(std::move(*reader));
  return store;
}

Status SqliteStore::backup(const std::string& path, const std::string& target) {
  auto database = sqlite::Database::open_existing(path);
  if (!database) return database.error();
  return (*database)->backup_into(target);
}

Status SqliteStore::begin_transaction() {
  return db_.execute("BEGIN IMMEDIATE");
}

Result<int> SqliteStore::schema_version() {
  auto query = db_.prepare("PRAGMA user_version");
  if (!query) return query.error();
  auto row = query->step();
  if (!row) return row.error();
  return static_cast<int>(query->column_int(0));
}

Status SqliteStore::set_schema_version(int version) {
  return db_.execute(fmt::format("PRAGMA user_version = {}", version));
}

std::string SqliteStore::migration_text(const migrations::Migration& migration) {
  return std::string(migration.sql);
}

Status SqliteStore::before_upgrade(int from, int to) {
  // A schema change is the one step that cannot be undone by the next binary: keep the
  // database as it was first.
  if (path_ == ":memory:") return {};
  std::string kept = fmt::format("{}.v{}-backup", path_, from);
  if (std::filesystem::exists(kept)) return {};
  GPUPOOL_TRY(static_cast<sqlite::Database&>(db_).backup_into(kept));
  spdlog::info("database: upgrading from version {} to {}; the old one is kept in {}", from, to,
               kept);
  return {};
}

}  // namespace gpupool
