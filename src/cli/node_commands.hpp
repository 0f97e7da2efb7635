// The CLI's commands for GPU servers in the pool: join tokens, listing and removing nodes, and
// the datasets they lend to groups. Thin over the admin REST API; each returns a process exit
// code.
#pragma once

#include <string>
#include <vector>

namespace gpupool::cli {

struct JoinTokenOptions {
  std::string description;
  int valid_hours = 24;
  int uses = 1;  // -1: any number until it expires
};

int create_join_token(const JoinTokenOptions& options);
int list_join_tokens();
int revoke_join_token(const std::string& id);
// Every node with its state (ready, draining, down), free GPUs and when it last synced.
int list_nodes();
int remove_node(const std::string& node);

int set_dataset(const std::string& name, const std::string& path,
                const std::vector<std::string>& groups);
int list_datasets();
int remove_dataset(const std::string& name);

}  // namespace gpupool::cli
