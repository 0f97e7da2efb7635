// ExternalAccounts: gpupool users for accounts of the organisation's directory (LDAP) or
// identity provider (OpenID Connect). The first sign-in creates the user; each sign-in and
// each check after brings them up to date: the directory's name for them, their uid and gid
// (where the directory has them, so that containers, homes and Slurm jobs use the same
// identity as the rest of the site), their groups (gpupool groups of the same names, created
// as needed and marked as the directory's; quotas, prices and fair share set on them follow)
// and, with an admin group, whether they are an admin.
//
// A name that belongs to a local account is refused unless the policy adopts local accounts
// (the user then signs in only through the directory). Thread-safe as far as the store is.
#pragma once

#include <string>

#include "auth/ldap_directory.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace gpupool::services {

struct ExternalAccountPolicy {
  std::string admin_group;  // directory group whose members are admins; "": set in gpupool
  int min_uid = 1000;       // directory uids below this are refused (root, system users)
  bool adopt_local_accounts = false;
};

class ExternalAccounts {
 public:
  ExternalAccounts(Store& store, const Clock& clock, ExternalAccountPolicy policy)
      : store_(store), clock_(clock), policy_(std::move(policy)) {}

  // The user for `account`, created or brought up to date. forbidden: the name is not one
  // gpupool can use, belongs to a local or another source's account, or the user is disabled
  // in gpupool; conflict: its uid is another user's.
  Result<User> provision(AccountSource source, const auth::DirectoryAccount& account);

  // Brings an existing user's groups and admin flag up to date (a check, not a sign-in).
  Status refresh(const User& user, const auth::DirectoryAccount& account);

  const ExternalAccountPolicy& policy() const { return policy_; }

 private:
  Result<User> find_or_create(AccountSource source, const std::string& name);
  Status sync_groups_and_admin(const User& user, const auth::DirectoryAccount& account);

  Store& store_;
  const Clock& clock_;
  ExternalAccountPolicy policy_;
};

}  // namespace gpupool::services
