// DirectoryChecks: asks the LDAP directory, every interval, about each of its users who holds
// a gpupool credential. One it no longer has — deleted, or excluded by the user filter, which
// is how a disabled account is named — loses every credential at once (logins, API tokens,
// and with them open terminals and event streams); the others' groups, uid and admin flag are
// brought up to date. A directory that cannot be reached changes nothing (and is logged): a
// directory outage must not sign everyone out. Run by the leading server only.
#pragma once

#include "auth/ldap_directory.hpp"
#include "core/result.hpp"
#include "services/audit_log.hpp"
#include "services/auth_service.hpp"
#include "services/external_accounts.hpp"
#include "store/store.hpp"

namespace gpupool::services {

class DirectoryChecks {
 public:
  // All must outlive it.
  DirectoryChecks(Store& store, const Clock& clock, AuthService& auth,
                  const auth::LdapDirectory& ldap, ExternalAccounts& accounts, AuditLog& audit)
      : store_(store),
        clock_(clock),
        auth_(auth),
        ldap_(ldap),
        accounts_(accounts),
        audit_(audit) {}

  // One check; answers how many users lost their credentials.
  Result<int> check_once();

 private:
  Store& store_;
  const Clock& clock_;
  AuthService& auth_;
  const auth::LdapDirectory& ldap_;
  ExternalAccounts& accounts_;
  AuditLog& audit_;
};

}  // namespace gpupool::services
