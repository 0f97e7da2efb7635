// The idle-reclaim part of the command line: `gpupool keep ID` for owners, `gpupool admin
// idle-policy set|ls|rm` and `gpupool admin idle-exempt ID [--off]` for admins. Kept apart from
// main.cpp, as node_cli.hpp is.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "cli/idle_commands.hpp"

namespace gpupool::app {

class IdleCli {
 public:
  // Adds `keep` to the top level and the admin commands to `admin`.
  IdleCli(CLI::App& app, CLI::App& admin);

  // After parsing: the exit code of the chosen command, or nullopt when none was.
  std::optional<int> run() const;

 private:
  CLI::App* keep_ = nullptr;
  CLI::App* set_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* remove_ = nullptr;
  CLI::App* exempt_ = nullptr;
  CLI::Option* keeps_option_ = nullptr;
  CLI::Option* exempt_option_ = nullptr;
  cli::IdlePolicyOptions policy_;
  int keeps_ = 0;
  bool exempt_flag_ = false;
  bool off_ = false;
  std::string session_id_;
};

}  // namespace gpupool::app
