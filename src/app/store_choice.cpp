#include "app/store_choice.hpp"

#include <fmt/format.h>

#include "store/postgres/connection.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace gpupool::app {

bool is_postgres_url(const std::string& store) {
  return store.starts_with("postgres://") || store.starts_with("postgresql://");
}

Result<std::unique_ptr<SqlStore>> open_store(const std::string& store,
                                             const std::filesystem::path& data_dir) {
  if (is_postgres_url(store)) {
    auto opened = PostgresStore::open(store);
    if (!opened) {
      return make_error(
          opened.error().code,
          fmt::format("--store {}: {}", postgres::without_password(store), opened.error().message));
    }
    return std::unique_ptr<SqlStore>(std::move(*opened));
  }
  std::string path = (data_dir / "gpupool.db").string();
  if (store.starts_with("sqlite:")) {
    path = store.substr(7);
  } else if (!store.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("--store {}: give sqlite:PATH or postgres://USER@HOST/DB",
                                  postgres::without_password(store)));
  }
  auto opened = SqliteStore::open(path);
  if (!opened) return opened.error();
  return std::unique_ptr<SqlStore>(std::move(*opened));
}

}  // namespace gpupool::app
