// Users, and (through model/image.hpp) the image catalog. Plain data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "model/image.hpp"

namespace gpupool {

// Where an account's sign-in is checked: gpupool's own password, or the organisation's
// directory (LDAP) or identity provider (OpenID Connect), which then also owns its groups.
enum class AccountSource { local, ldap, oidc };

struct User {
  std::int64_t id = 0;
  std::string username;  // canonical: see auth/names.hpp
  bool admin = false;
  int uid = 0;  // Linux uid used inside session containers
  UnixMillis created_at = 0;
  bool disabled = false;  // by an admin: no sign-in, no credential works
  AccountSource source = AccountSource::local;
  std::string external_id;  // the directory's name for it: an LDAP DN, an OIDC issuer + subject
  int gid = 0;              // the Linux group id; 0: the same as uid
  bool uid_from_directory = false;  // uid is the directory's, which the cluster must share
};

std::string_view to_string(AccountSource source);
// Unknown names read as local: the source that trusts nothing outside gpupool.
AccountSource account_source_from(std::string_view name);

// Users' uids start here, far from system and typical host users.
inline constexpr int kFirstSessionUid = 20000;

}  // namespace gpupool
