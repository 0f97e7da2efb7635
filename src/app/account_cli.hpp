// The account part of the command line: `gpupool token ls|revoke|renew`, `gpupool passwd`, and
// for admins `gpupool admin user-set` and `gpupool admin audit`. Kept apart from main.cpp so
// that each group of commands reads on its own.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "cli/account_commands.hpp"

namespace gpupool::app {

class AccountCli {
 public:
  // Adds the subcommands to `app` and to its `admin` subcommand.
  AccountCli(CLI::App& app, CLI::App& admin);

  // After parsing: the exit code of the chosen account command, or nullopt when none was.
  std::optional<int> run() const;

 private:
  CLI::App* token_ls_ = nullptr;
  CLI::App* token_revoke_ = nullptr;
  CLI::App* token_renew_ = nullptr;
  CLI::App* passwd_ = nullptr;
  CLI::App* user_set_ = nullptr;
  CLI::App* audit_ = nullptr;
  std::string user_;
  std::string token_id_;
  bool password_stdin_ = false;
  bool grant_admin_ = false;
  bool revoke_admin_ = false;
  bool disable_ = false;
  bool enable_ = false;
  cli::UserAccessChange access_;
  cli::AuditQuery audit_query_;
};

}  // namespace gpupool::app
