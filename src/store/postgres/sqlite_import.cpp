#include "store/postgres/sqlite_import.hpp"

#include <fmt/format.h>

#include "store/postgres/connection.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/database.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace gpupool {

namespace {

Result<std::vector<sql::TableCount>> copy_checked(sql::Database& source,
                                                  postgres::Connection& target) {
  auto tables = sql::sqlite_tables(source);
  if (!tables) return tables.error();
  auto copied = sql::copy_tables(source, target, *tables);
  if (!copied) return copied.error();
  GPUPOOL_TRY(target.execute(kResumeIdentities));
  for (const auto& table : *tables) GPUPOOL_TRY(sql::same_rows(source, target, table));
  return copied;
}

}  // namespace

Result<std::vector<sql::TableCount>> import_sqlite(const std::string& sqlite_path,
                                                   const std::string& url) {
  {
    auto upgraded = SqliteStore::open(sqlite_path);
    if (!upgraded) return upgraded.error();
    auto destination = PostgresStore::open(url);  // the schema made, as a server makes it
    if (!destination) return destination.error();
    auto users = (*destination)->count_users();
    if (!users) return users.error();
    if (*users > 0) {
      return make_error(ErrorCode::conflict,
                        "the PostgreSQL database holds gpupool data already; migrate into an "
                        "empty one");
    }
  }
  auto source = sqlite::Database::open_existing(sqlite_path);
  if (!source) return source.error();
  auto target = postgres::Connection::open(url, std::nullopt);
  if (!target) return target.error();
  GPUPOOL_TRY(
      (*target)->execute(fmt::format("BEGIN; SELECT pg_advisory_xact_lock({})", kWriteLockKey)));
  auto copied = copy_checked(**source, **target);
  if (!copied) {
    (void)(*target)->execute("ROLLBACK");
    return copied.error();
  }
  GPUPOOL_TRY((*target)->execute("COMMIT"));
  return copied;
}

}  // namespace gpupool
