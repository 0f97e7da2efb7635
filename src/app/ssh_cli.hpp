// The SSH part of the command line: `gpupool ssh [--config] ID`, `gpupool cp`, and
// `gpupool keys add|ls|rm`. Kept apart from main.cpp, as idle_cli.hpp is.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "cli/ssh_commands.hpp"

namespace gpupool::app {

class SshCli {
 public:
  explicit SshCli(CLI::App& app);

  // `gpupool ssh … -- COMMAND`: the words after the "--" are the remote command, kept here
  // and cut off before parsing (CLI11 would read them as positionals of its own and refuse
  // them). The count of arguments left to parse.
  int cut_remote_command(int argc, char** argv);

  // After parsing: the exit code of the chosen command, or nullopt when none was.
  std::optional<int> run() const;

 private:
  CLI::App* ssh_ = nullptr;
  CLI::App* cp_ = nullptr;
  CLI::App* keys_ = nullptr;
  CLI::App* keys_add_ = nullptr;
  CLI::App* keys_ls_ = nullptr;
  CLI::App* keys_rm_ = nullptr;
  std::string session_id_;
  bool write_config_ = false;
  bool recursive_ = false;
  cli::KeyChoice choice_;
  std::vector<std::string> paths_;
  std::optional<std::vector<std::string>> remote_command_;  // after "--", when there was one
  std::string key_;
};

}  // namespace gpupool::app
