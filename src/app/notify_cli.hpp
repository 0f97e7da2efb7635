// The notifications part of the command line: `gpupool notify [set|confirm]`. Kept apart from
// main.cpp, as idle_cli.hpp is.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "cli/notify_commands.hpp"

namespace gpupool::app {

class NotifyCli {
 public:
  explicit NotifyCli(CLI::App& app);

  // After parsing: the exit code of the chosen command, or nullopt when none was.
  std::optional<int> run() const;

 private:
  CLI::App* notify_ = nullptr;
  CLI::App* set_ = nullptr;
  CLI::App* confirm_ = nullptr;
  CLI::Option* email_option_ = nullptr;
  CLI::Option* balance_option_ = nullptr;
  std::string email_;
  double balance_low_ = 0;
  bool balance_default_ = false;
  std::string code_;
};

}  // namespace gpupool::app
