#include "services/external_accounts.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "auth/names.hpp"
#include "core/log.hpp"

namespace gpupool::services {

namespace {

// Below are the system's groups (root, sudo, shadow …): no one's primary group in a session.
constexpr int kFirstOrdinaryGid = 100;

bool same_name(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

Result<User> ExternalAccounts::provision(AccountSource source,
                                         const auth::DirectoryAccount& account) {
  auto name = auth::canonical_username(account.username);
  if (!name) {
    return make_error(ErrorCode::forbidden,
                      fmt::format("the directory's name \"{}\" cannot be a gpupool user name: {}",
                                  account.username, name.error().message));
  }
  GPUPOOL_TRY(auth::check_not_reserved(*name));
  if (account.uid && *account.uid < policy_.min_uid) {
    return make_error(
        ErrorCode::forbidden,
        fmt::format("the directory gives \"{}\" uid {}, below the lowest allowed ({})", *name,
                    *account.uid, policy_.min_uid));
  }
  if (account.gid && *account.gid < kFirstOrdinaryGid) {
    return make_error(
        ErrorCode::forbidden,
        fmt::format("the directory gives \"{}\" gid {}, a system group's", *name, *account.gid));
  }
  User user;
  auto done = store_.in_transaction([&]() -> Status {
    auto found = find_or_create(source, *name);
    if (!found) return found.error();
    if (found->disabled)
      return make_error(ErrorCode::forbidden, "this account is disabled; ask an admin");
    // An identity provider's subject is its account for good; a name can change hands there.
    if (source == AccountSource::oidc && !found->external_id.empty() &&
        found->external_id != account.dn) {
      return make_error(
          ErrorCode::forbidden,
          fmt::format("\"{}\" belongs to another account of the identity provider", *name));
    }
    GPUPOOL_TRY(store_.set_user_identity(
        found->id, {source, account.dn, account.uid.value_or(0), account.gid.value_or(0)}));
    GPUPOOL_TRY(sync_groups_and_admin(*found, account));
    auto updated = store_.find_user(found->id);
    if (!updated) return updated.error();
    if (!updated->has_value()) return make_error(ErrorCode::internal, "the user vanished");
    user = **updated;
    return {};
  });
  if (!done) return done.error();
  return user;
}

Status ExternalAccounts::refresh(const User& user, const auth::DirectoryAccount& account) {
  return store_.in_transaction([&]() -> Status {
    GPUPOOL_TRY(store_.set_user_identity(
        user.id, {user.source, account.dn, account.uid.value_or(0), account.gid.value_or(0)}));
    return sync_groups_and_admin(user, account);
  });
}

Result<User> ExternalAccounts::find_or_create(AccountSource source, const std::string& name) {
  auto stored = store_.find_user_by_name(name);
  if (!stored) return stored.error();
  if (!stored->has_value()) {
    // No password of its own: the directory checks it (an empty hash matches none).
    auto created = store_.create_user(name, "", false, clock_.now());
    if (created || created.error().code != ErrorCode::conflict) return created;
    stored = store_.find_user_by_name(name);  // another server created it just now
    if (!stored) return stored.error();
    if (!stored->has_value()) return make_error(ErrorCode::internal, "the user vanished");
  }
  const User& user = (*stored)->user;
  if (user.source == source) return user;
  if (user.source == AccountSource::local && policy_.adopt_local_accounts) {
    GPUPOOL_TRY(store_.set_password_hash(user.id, ""));
    spdlog::info("local account {} now signs in through {}", name, to_string(source));
    return user;
  }
  return make_error(
      ErrorCode::forbidden,
      fmt::format("\"{}\" is a{} gpupool account that does not sign in through {}; an admin "
                  "can rename or remove it (or set adopt_local_accounts)",
                  name, user.source == AccountSource::local ? " local" : "n", to_string(source)));
}

Status ExternalAccounts::sync_groups_and_admin(const User& user,
                                               const auth::DirectoryAccount& account) {
  std::vector<std::int64_t> group_ids;
  for (const auto& directory_name : account.groups) {
    auto name = auth::canonical_username(directory_name);
    if (!name) continue;  // not a name gpupool can use for a group: the directory keeps it
    auto group = store_.find_group(*name);
    if (!group) return group.error();
    if (!group->has_value()) {
      auto created = store_.create_group(*name, clock_.now());
      if (!created) return created.error();
      *group = *created;
    }
    if (!(*group)->from_directory) GPUPOOL_TRY(store_.set_group_from_directory((*group)->id));
    group_ids.push_back((*group)->id);
  }
  GPUPOOL_TRY(store_.set_directory_groups(user.id, group_ids));
  if (policy_.admin_group.empty()) return {};
  bool admin =
      std::any_of(account.groups.begin(), account.groups.end(),
                  [&](const std::string& group) { return same_name(group, policy_.admin_group); });
  if (admin == user.admin) return {};
  spdlog::info("{} is {} an admin, by the directory group {}", user.username,
               admin ? "now" : "no longer", policy_.admin_group);
  return store_.set_user_access(user.id, admin, user.disabled);
}

}  // namespace gpupool::services
