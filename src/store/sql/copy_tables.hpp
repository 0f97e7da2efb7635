// Copying a database's tables into another engine's, and checking the copy row for row
// (`gpupool admin migrate-store`: SQLite to PostgreSQL).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "store/sql/database.hpp"

namespace gpupool::sql {

struct TableCount {
  std::string table;
  std::size_t rows = 0;
};

// The tables of a SQLite database, each after the tables it references.
Result<std::vector<std::string>> sqlite_tables(Database& sqlite);

// Inserts every row of each of `tables` in `from` into the same table in `to` (which has
// the same columns), in the caller's transaction on `to`. Returns the rows copied per table.
Result<std::vector<TableCount>> copy_tables(Database& from, Database& to,
                                            const std::vector<std::string>& tables);

// Whether `table` holds the same rows in both databases, whatever their order; where not,
// the error says how they differ.
Status same_rows(Database& first, Database& second, const std::string& table);

}  // namespace gpupool::sql
