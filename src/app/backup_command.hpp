// `gpupool admin backup FILE`: a consistent copy of the embedded database, taken while gpupool
// runs, on the server's machine. Restoring is replacing the database file with the copy while
// gpupool is stopped (docs/operations.md).
#pragma once

#include <string>

namespace gpupool::app {

// 0 when FILE holds the copy; 1 with the reason on stderr (FILE exists already, no database).
int run_backup(const std::string& data_dir, const std::string& target);

}  // namespace gpupool::app
