#include "app/node_cli.hpp"

namespace gpupool::app {

NodeCli::NodeCli(CLI::App& admin) {
  auto* token = admin.add_subcommand("join-token", "tokens GPU servers join the pool with");
  token->require_subcommand(1);
  create_ = token->add_subcommand("create", "make a join token (shown once)");
  create_->add_option("--uses", token_.uses, "joins it allows; -1: any number until it expires")
      ->capture_default_str();
  create_->add_option("--valid-hours", token_.valid_hours, "hours until it expires")
      ->capture_default_str();
  create_->add_option("--description", token_.description, "what it is for");
  list_ = token->add_subcommand("ls", "list join tokens (never their secrets)");
  revoke_ = token->add_subcommand("revoke", "revoke a join token: no more joins with it");
  revoke_->add_option("id", name_, "the ID that `join-token ls` shows")->required();
  list_nodes_ = admin.add_subcommand("nodes", "list nodes: ready, draining or down; free GPUs");
  remove_ = admin.add_subcommand(
      "node-rm", "revoke a node's credential: its agent is refused and the name may join again");
  remove_->add_option("node", name_, "node name")->required();
  auto* dataset = admin.add_subcommand("dataset", "directories every node has, lent read-only");
  dataset->require_subcommand(1);
  set_dataset_ = dataset->add_subcommand(
      "set", "lend PATH (on every node) to groups' members, at /datasets/NAME in new sessions");
  set_dataset_->add_option("name", name_, "dataset name")->required();
  set_dataset_->add_option("path", path_, "the directory, the same on every node")->required();
  set_dataset_->add_option("--group", groups_, "a group whose members get it (repeatable)");
  list_datasets_ = dataset->add_subcommand("ls", "list datasets and who gets them");
  remove_dataset_ = dataset->add_subcommand("rm", "withdraw a dataset from new sessions");
  remove_dataset_->add_option("name", name_, "dataset name")->required();
}

std::optional<int> NodeCli::run() const {
  if (*create_) return cli::create_join_token(token_);
  if (*list_) return cli::list_join_tokens();
  if (*revoke_) return cli::revoke_join_token(name_);
  if (*remove_) return cli::remove_node(name_);
  if (*list_nodes_) return cli::list_nodes();
  if (*set_dataset_) return cli::set_dataset(name_, path_, groups_);
  if (*list_datasets_) return cli::list_datasets();
  if (*remove_dataset_) return cli::remove_dataset(name_);
  return std::nullopt;
}

}  // namespace gpupool::app
