// Idle reclaim from the command line: `gpupool keep ID` for owners; `gpupool admin idle-policy
// set|ls|rm` and `gpupool admin idle-exempt ID` for admins. Each returns the exit code.
#pragma once

#include <optional>
#include <string>

namespace gpupool::cli {

// Says "keep it" for a running session whose idle window is to start again.
int keep(const std::string& id);

struct IdlePolicyOptions {
  std::string user;  // exactly one of user and group
  std::string group;
  std::string window;  // a duration ("2h", "0": never); empty: the server's default
  std::string grace;
  std::optional<int> keeps;
  std::optional<bool> exempt;
};
int set_idle_policy(const IdlePolicyOptions& options);
int list_idle_policies();
int remove_idle_policy(const IdlePolicyOptions& options);
int set_idle_exempt(const std::string& id, bool exempt);

}  // namespace gpupool::cli
