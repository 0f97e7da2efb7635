#include "app/ssh_cli.hpp"

#include <string_view>

namespace gpupool::app {

SshCli::SshCli(CLI::App& app) {
  ssh_ = app.add_subcommand(
      "ssh",
      "open an SSH shell in a running session: gpupool ssh ID [ssh options --] [command]; "
      "--config ID writes its entry into ~/.ssh/config (for `ssh gpupool-ID` and VS Code)");
  ssh_->add_flag("--config", write_config_,
                 "write the session's entry into ~/.ssh/config instead of connecting");
  ssh_->add_flag("-y,--yes", choice_.assume_yes,
                 "with no key registered, register the default one (or make one) without asking");
  ssh_->add_option("id", session_id_, "session id")->required();
  ssh_->prefix_command();  // everything after the id goes to ssh untouched

  cp_ = app.add_subcommand(
      "cp",
      "copy files to or from a running session over SSH: gpupool cp [-r] SOURCE... DEST, "
      "the session's side written ID:PATH (a path in its home unless absolute)");
  cp_->add_flag("-r,--recursive", recursive_, "copy folders whole");
  cp_->add_flag("-y,--yes", choice_.assume_yes,
                "with no key registered, register the default one (or make one) without asking");
  cp_->add_option("paths", paths_, "sources, then the destination")->required()->expected(2, -1);

  keys_ = app.add_subcommand("keys", "the SSH public keys your sessions accept");
  keys_->require_subcommand(1);
  keys_ls_ = keys_->add_subcommand("ls", "list your registered keys");
  keys_add_ = keys_->add_subcommand(
      "add", "register a public key (default: ~/.ssh/id_ed25519.pub, id_ecdsa.pub or id_rsa.pub)");
  keys_add_->add_option("file", key_, "a public key file (.pub)");
  keys_rm_ = keys_->add_subcommand("rm", "remove a registered key");
  keys_rm_->add_option("key", key_, "its fingerprint (SHA256:…) or comment")->required();
}

int SshCli::cut_remote_command(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) != "ssh") return argc;
  for (int i = 2; i < argc; ++i) {
    if (std::string_view(argv[i]) != "--") continue;
    remote_command_.emplace(argv + i + 1, argv + argc);
    return i;
  }
  return argc;
}

std::optional<int> SshCli::run() const {
  if (*ssh_) {
    if (write_config_) return cli::ssh_config(session_id_, choice_);
    // What cli::ssh reads: ssh's options, "--", the command; or only the command.
    auto arguments = ssh_->remaining();
    if (remote_command_) {
      arguments.push_back("--");
      arguments.insert(arguments.end(), remote_command_->begin(), remote_command_->end());
    }
    return cli::ssh(session_id_, arguments, choice_);
  }
  if (*cp_) return cli::copy(paths_, recursive_, choice_);
  if (*keys_ls_) return cli::list_keys();
  if (*keys_add_) return cli::add_key(key_);
  if (*keys_rm_) return cli::remove_key(key_);
  return std::nullopt;
}

}  // namespace gpupool::app
