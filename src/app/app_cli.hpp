// The web-app part of the command line: `gpupool expose ID [PORT]` and
// `gpupool unexpose ID PORT`. Kept apart from main.cpp, as idle_cli.hpp is.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>

#include "cli/app_commands.hpp"

namespace gpupool::app {

class AppCli {
 public:
  explicit AppCli(CLI::App& app);

  // After parsing: the exit code of the chosen command, or nullopt when none was.
  std::optional<int> run() const;

 private:
  CLI::App* expose_ = nullptr;
  CLI::App* unexpose_ = nullptr;
  CLI::Option* port_option_ = nullptr;
  cli::ExposeOptions options_;
};

}  // namespace gpupool::app
