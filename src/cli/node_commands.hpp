// The CLI's commands for GPU servers joining the pool: join tokens and removing a node. Thin
// over the admin REST API; each returns a process exit code.
#pragma once

#include <string>

namespace gpupool::cli {

struct JoinTokenOptions {
  std::string description;
  int valid_hours = 24;
  int uses = 1;  // -1: any number until it expires
};

int create_join_token(const JoinTokenOptions& options);
int list_join_tokens();
int revoke_join_token(const std::string& id);
int remove_node(const std::string& node);

}  // namespace gpupool::cli
