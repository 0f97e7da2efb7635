// The versioned schema: migrations/NNNN_name.sql, embedded at build time, applied in order.
// A database records the last version applied; a database newer than this binary is refused
// rather than guessed at.
#pragma once

#include <string_view>
#include <vector>

namespace gpupool::migrations {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;           // as SQLite runs it
  std::string_view postgres_sql;  // NNNN_name.postgres.sql; empty: `sql`, translated
};

const std::vector<Migration>& all();

}  // namespace gpupool::migrations
