// The CLI's admin commands: users, groups, quotas and nodes. Thin over the admin REST API; each
// returns a process exit code.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gpupool::cli {

struct QuotaOptions {
  std::string user;  // exactly one of user and group
  std::string group;
  std::optional<int> gpus;
  std::optional<int> sessions;
  std::optional<double> gpu_memory_gb;
  std::optional<double> session_hours;
  std::vector<std::string> model_gpus;  // "MODEL=N": at most N whole GPUs of that model
};

int add_user(const std::string& name, bool admin);  // password from standard input
int create_group(const std::string& name);
int set_group_members(const std::string& group, const std::vector<std::string>& users);
int set_quota(const QuotaOptions& options);
int list_quotas();
int set_drained(const std::string& node, bool drained);
// Containers nodes run for sessions the database does not know, and removing one of them.
int list_unknown_containers();
int remove_unknown_container(const std::string& node, const std::string& session);
int adopt_unknown_container(const std::string& node, const std::string& session);

}  // namespace gpupool::cli
