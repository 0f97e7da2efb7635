// Directory: what admins manage and users read of themselves — users, groups and their
// members, quotas, SSH keys, and nodes' drain flags — with the rules that
// belong to the data: group names follow the user-name rules, members and quota subjects
// must exist. The API's handlers read and change these only through here.
//
// Thread-safe as far as the store is (each call is one store call or one transaction).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "model/quota.hpp"
#include "model/user.hpp"
#include "store/store.hpp"

namespace gpupool::services {

struct GroupMembers {
  Group group;
  std::vector<std::int64_t> member_ids;
};

// What a user sees of their own account besides the login itself.
struct Profile {
  std::vector<std::string> ssh_keys;
  std::vector<Group> groups;
  std::vector<Quota> quotas;  // their own and their groups'
};

class Directory {
 public:
  // Both must outlive the Directory.
  Directory(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  Result<std::vector<User>> users();  // by name
  Result<std::vector<GroupMembers>> groups();
  Result<Profile> profile(std::int64_t user_id);
  Status replace_ssh_keys(std::int64_t user_id, const std::vector<std::string>& keys);

  // A taken name is a conflict; a name that is not a valid user name is invalid_argument.
  Result<Group> create_group(const std::string& name);
  // Replaces the group's members; answers their canonical names. Unknown group: not_found;
  // unknown user: invalid_argument (the request named them).
  Result<std::vector<std::string>> set_group_members(const std::string& group_name,
                                                     const std::vector<std::string>& usernames);

  Result<std::vector<Quota>> quotas();
  // Sets the quota of user or group `name` (`scope` "user" or "group"); not_found for an
  // unknown scope or subject. Answers the quota as stored.
  Result<Quota> set_quota(const std::string& scope, const std::string& name, Quota quota);

  // The same for idle policies (model/idle.hpp); delete answers whether there was one.
  Result<IdlePolicyRule> set_idle_policy(const std::string& scope, const std::string& name,
                                         IdlePolicyRule rule);
  Result<bool> delete_idle_policy(const std::string& scope, const std::string& name);

  // Lends the directory `path` (on every node) read-only to the groups' members, at
  // /datasets/<name>; replaces a dataset of that name. Unknown group: invalid_argument.
  Result<Dataset> put_dataset(const std::string& name, const std::string& path,
                              const std::vector<std::string>& groups);
  Status delete_dataset(const std::string& name);  // not_found when there is none
  Result<std::vector<Dataset>> datasets();

  Status set_node_drained(const std::string& node, bool drained);

 private:
  struct Subject {
    QuotaScope scope;
    std::int64_t id;
  };
  // The user or group `name` is; not_found for an unknown scope or subject.
  Result<Subject> find_subject(const std::string& scope, const std::string& name,
                               std::string_view collection);

  Store& store_;
  const Clock& clock_;
};

}  // namespace gpupool::services
