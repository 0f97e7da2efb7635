// The node part of the command line, for admins: `gpupool admin join-token create|ls|revoke`,
// `gpupool admin nodes`, `gpupool admin node-rm` and `gpupool admin dataset set|ls|rm`. Kept apart
// from main.cpp, as account_cli.hpp is.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "cli/node_commands.hpp"

namespace gpupool::app {

class NodeCli {
 public:
  // Adds the subcommands to the `admin` subcommand.
  explicit NodeCli(CLI::App& admin);

  // After parsing: the exit code of the chosen node command, or nullopt when none was.
  std::optional<int> run() const;

 private:
  CLI::App* create_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* revoke_ = nullptr;
  CLI::App* remove_ = nullptr;
  CLI::App* list_nodes_ = nullptr;
  CLI::App* set_dataset_ = nullptr;
  CLI::App* list_datasets_ = nullptr;
  CLI::App* remove_dataset_ = nullptr;
  cli::JoinTokenOptions token_;
  std::string name_;
  std::string path_;
  std::vector<std::string> groups_;
};

}  // namespace gpupool::app
