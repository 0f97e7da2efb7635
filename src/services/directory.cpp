#include "services/directory.hpp"

#include <fmt/format.h>

#include "auth/names.hpp"

namespace gpupool::services {

Result<std::vector<User>> Directory::users() {
  return store_.list_users();
}

Result<std::vector<GroupMembers>> Directory::groups() {
  auto groups = store_.list_groups();
  if (!groups) return groups.error();
  std::vector<GroupMembers> all;
  for (auto& group : *groups) {
    auto members = store_.group_member_ids(group.id);
    if (!members) return members.error();
    all.push_back({std::move(group), std::move(*members)});
  }
  return all;
}

Result<Profile> Directory::profile(std::int64_t user_id) {
  Profile profile;
  auto keys = store_.ssh_keys(user_id);
  if (!keys) return keys.error();
  profile.ssh_keys = std::move(*keys);
  auto groups = store_.groups_of(user_id);
  if (!groups) return groups.error();
  profile.groups = std::move(*groups);
  auto quotas = store_.quotas_for(user_id);
  if (!quotas) return quotas.error();
  profile.quotas = std::move(*quotas);
  return profile;
}

Status Directory::replace_ssh_keys(std::int64_t user_id, const std::vector<std::string>& keys) {
  return store_.replace_ssh_keys(user_id, keys);
}

Result<Group> Directory::create_group(const std::string& name) {
  // Group names follow the user-name rules: they appear in messages and in paths.
  auto canonical = auth::canonical_username(name);
  if (!canonical)
    return make_error(ErrorCode::invalid_argument, "group " + canonical.error().message);
  return store_.create_group(*canonical, clock_.now());
}

Result<std::vector<std::string>> Directory::set_group_members(
    const std::string& group_name, const std::vector<std::string>& usernames) {
  auto group = store_.find_group(group_name);
  if (!group) return group.error();
  if (!group->has_value()) return make_error(ErrorCode::not_found, "no such group");
  if ((*group)->from_directory) {
    return make_error(ErrorCode::conflict,
                      fmt::format("the members of group \"{}\" come from the organisation's "
                                  "directory; change them there",
                                  (*group)->name));
  }
  std::vector<std::int64_t> ids;
  std::vector<std::string> members;
  for (const auto& raw : usernames) {
    auto name = auth::canonical_username(raw);
    if (!name) return name.error();
    auto user = store_.find_user_by_name(*name);
    if (!user) return user.error();
    if (!user->has_value())
      return make_error(ErrorCode::invalid_argument, fmt::format("no user \"{}\"", *name));
    ids.push_back((*user)->user.id);
    members.push_back((*user)->user.username);
  }
  GPUPOOL_TRY(store_.set_group_members((*group)->id, ids));
  return members;
}

Result<Dataset> Directory::put_dataset(const std::string& name, const std::string& path,
                                       const std::vector<std::string>& groups) {
  GPUPOOL_TRY(check_dataset_name(name));
  GPUPOOL_TRY(check_dataset_path(path));
  Dataset dataset{name, path, {}, clock_.now()};
  std::vector<std::int64_t> ids;
  for (const auto& group_name : groups) {
    auto group = store_.find_group(group_name);
    if (!group) return group.error();
    if (!group->has_value())
      return make_error(ErrorCode::invalid_argument, fmt::format("no group \"{}\"", group_name));
    ids.push_back((*group)->id);
    dataset.groups.push_back((*group)->name);
  }
  GPUPOOL_TRY(store_.put_dataset(dataset, ids));
  return dataset;
}

Status Directory::delete_dataset(const std::string& name) {
  auto deleted = store_.delete_dataset(name);
  if (!deleted) return deleted.error();
  if (!*deleted) return make_error(ErrorCode::not_found, "no such dataset");
  return {};
}

Result<std::vector<Dataset>> Directory::datasets() {
  return store_.list_datasets();
}

Result<std::vector<Quota>> Directory::quotas() {
  return store_.list_quotas();
}

Result<Directory::Subject> Directory::find_subject(const std::string& scope,
                                                   const std::string& name,
                                                   std::string_view collection) {
  if (scope == "user") {
    auto user = store_.find_user_by_name(name);
    if (!user) return user.error();
    if (!user->has_value()) return make_error(ErrorCode::not_found, "no such user");
    return Subject{QuotaScope::user, (*user)->user.id};
  }
  if (scope == "group") {
    auto group = store_.find_group(name);
    if (!group) return group.error();
    if (!group->has_value()) return make_error(ErrorCode::not_found, "no such group");
    return Subject{QuotaScope::group, (*group)->id};
  }
  return make_error(ErrorCode::not_found,
                    fmt::format("{} are set on /api/v1/{}/user/NAME or /group/NAME",
                                collection == "quotas" ? "quotas" : "idle policies", collection));
}

Result<Quota> Directory::set_quota(const std::string& scope, const std::string& name, Quota quota) {
  auto subject = find_subject(scope, name, "quotas");
  if (!subject) return subject.error();
  quota.scope = subject->scope;
  quota.subject_id = subject->id;
  quota.subject_name = name;
  GPUPOOL_TRY(store_.set_quota(quota));
  return quota;
}

Result<IdlePolicyRule> Directory::set_idle_policy(const std::string& scope, const std::string& name,
                                                  IdlePolicyRule rule) {
  auto subject = find_subject(scope, name, "idle-policies");
  if (!subject) return subject.error();
  rule.scope = subject->scope;
  rule.subject_id = subject->id;
  rule.subject_name = name;
  GPUPOOL_TRY(store_.set_idle_policy(rule));
  return rule;
}

Result<bool> Directory::delete_idle_policy(const std::string& scope, const std::string& name) {
  auto subject = find_subject(scope, name, "idle-policies");
  if (!subject) return subject.error();
  return store_.delete_idle_policy(subject->scope, subject->id);
}

Status Directory::set_node_drained(const std::string& node, bool drained) {
  auto nodes = store_.list_nodes();
  if (!nodes) return nodes.error();
  for (const auto& known : *nodes) {
    // Slurm places sessions on its own nodes: a mark here would change nothing.
    if (known.name == node && known.labels.contains("slurm"))
      return make_error(ErrorCode::conflict,
                        fmt::format("{} is a Slurm node: drain it in Slurm (scontrol update "
                                    "NodeName={} State=DRAIN Reason=...)",
                                    node, node));
  }
  return store_.set_node_drained(node, drained);
}

}  // namespace gpupool::services
