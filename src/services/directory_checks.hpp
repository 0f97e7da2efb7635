// DirectoryChecks: asks the organisation's directory, every interval, about each of its users
// who holds a gpupool credential, and ends every credential (logins, API tokens, and with
// them open terminals and event streams) of one it no longer stands by:
//
// - LDAP: a user the directory no longer has — deleted, or excluded by the user filter,
//   which is how a disabled account is named.
// - OpenID Connect: a user whose latest sign-in's refresh token the provider refuses
//   (invalid_grant: disabled or deleted there, the grant revoked, or expired). Users whose
//   provider issued no refresh token cannot be asked; that is logged once.
//
// The others' groups, uid and admin flag are brought up to date. A directory that cannot be
// reached, or answers anything but a refusal, changes nothing (and is logged): an outage must
// not sign everyone out. Run by the leading server only.
#pragma once

#include <map>

#include "auth/ldap_directory.hpp"
#include "auth/oidc_client.hpp"
#include "core/result.hpp"
#include "services/audit_log.hpp"
#include "services/auth_service.hpp"
#include "services/external_accounts.hpp"
#include "services/provider_tokens.hpp"
#include "store/store.hpp"

namespace gpupool::services {

// Where the checks ask; either may be null.
struct DirectorySources {
  const auth::LdapDirectory* ldap = nullptr;
  auth::OidcClient* oidc = nullptr;
  ProviderTokens* provider_tokens = nullptr;  // set with oidc
};

class DirectoryChecks {
 public:
  // All must outlive it.
  DirectoryChecks(Store& store, const Clock& clock, AuthService& auth, DirectorySources sources,
                  ExternalAccounts& accounts, AuditLog& audit)
      : store_(store),
        clock_(clock),
        auth_(auth),
        sources_(sources),
        accounts_(accounts),
        audit_(audit) {}

  // One check; answers how many users lost their credentials.
  Result<int> check_once();

 private:
  using Holders = std::map<std::string, User>;  // users with a live credential, by name
  Result<int> check_ldap(const Holders& holders);
  Result<int> check_provider(const Holders& holders);
  Status end_user(const User& user, const std::string& why);

  Store& store_;
  const Clock& clock_;
  AuthService& auth_;
  DirectorySources sources_;
  ExternalAccounts& accounts_;
  AuditLog& audit_;
  bool told_of_unchecked_ = false;
};

}  // namespace gpupool::services
