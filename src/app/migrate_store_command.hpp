// `gpupool admin migrate-store --from sqlite:PATH --to postgres://…`: moves an installation's
// data to PostgreSQL, from a consistent snapshot of the SQLite file (the server may run
// meanwhile; what it writes after the snapshot is not moved, so stop it first to move all),
// into an empty PostgreSQL database, in one transaction, every table checked row for row.
#pragma once

#include <string>

namespace gpupool::app {

int run_migrate_store(const std::string& from, const std::string& to);

}  // namespace gpupool::app
