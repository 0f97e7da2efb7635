// Which store a server runs on (--store): SQLite in the data dir by default, another SQLite
// file, or a PostgreSQL database that several servers share.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "store/sql/sql_store.hpp"

namespace gpupool::app {

bool is_postgres_url(const std::string& store);

Result<std::unique_ptr<SqlStore>> open_store(const std::string& store,
                                             const std::filesystem::path& data_dir);

}  // namespace gpupool::app
