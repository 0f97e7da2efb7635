// Moving an installation from SQLite to PostgreSQL (`gpupool admin migrate-store`).
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "store/sql/copy_tables.hpp"

namespace gpupool {

// Copies the SQLite database at `sqlite_path` (brought to this binary's schema first: give
// it a snapshot, not a running server's file) into the PostgreSQL database at `url`, which
// must hold no gpupool data yet. One transaction: every table is copied, each identity goes
// on after the copied ids, and every table is checked row for row before it commits; a
// failure leaves the destination as empty as it was. Returns the rows copied per table.
Result<std::vector<sql::TableCount>> import_sqlite(const std::string& sqlite_path,
                                                   const std::string& url);

}  // namespace gpupool
