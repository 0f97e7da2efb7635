#include "app/backup_command.hpp"

#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "store/sqlite/sqlite_store.hpp"

namespace gpupool::app {

int run_backup(const std::string& data_dir, const std::string& target) {
  std::string database = (std::filesystem::path(data_dir) / "gpupool.db").string();
  if (std::filesystem::exists(target)) {
    std::cerr << fmt::format("error: {} exists already; name a new file\n", target);
    return 1;
  }
  auto copied = SqliteStore::backup(database, target);
  if (!copied) {
    std::cerr << "error: " << copied.error().message << "\n";
    return 1;
  }
  std::error_code ec;
  auto size = std::filesystem::file_size(target, ec);
  std::cout << fmt::format("backed up {} into {} ({} bytes)\n", database, target, ec ? 0 : size);
  return 0;
}

}  // namespace gpupool::app
