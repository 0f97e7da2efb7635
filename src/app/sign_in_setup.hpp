// Where users sign in, as the config file's [auth] section sets it (docs/auth.md): local
// accounts, an LDAP directory, an OpenID Connect provider, the directory group of admins;
// and the periodic check that ends the logins of users the directory no longer stands by.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "auth/ldap_directory.hpp"
#include "auth/oidc_client.hpp"
#include "core/periodic_task.hpp"
#include "services/audit_log.hpp"
#include "services/auth_service.hpp"
#include "services/directory_checks.hpp"
#include "services/external_accounts.hpp"
#include "services/provider_tokens.hpp"

namespace gpupool::app {

struct AuthConfig {
  bool local_accounts = true;
  services::ExternalAccountPolicy accounts;
  std::string check_interval = "5m";  // how often the directory is asked about its users
  std::optional<auth::LdapSettings> ldap;
  std::optional<auth::OidcSettings> oidc;
};

// What the server keeps for sign-in: made before the AuthService, which it outlives.
class SignIn {
 public:
  static Result<std::unique_ptr<SignIn>> make(const AuthConfig& config, Store& store,
                                              const Clock& clock);

  services::SignInSources sources() const;
  // The OpenID Connect provider, and who keeps its users' accounts; null without one.
  auth::OidcClient* oidc() const { return oidc_.get(); }
  services::ExternalAccounts* accounts() const { return accounts_.get(); }
  services::ProviderTokens* provider_tokens() const { return provider_tokens_.get(); }
  // The directory checks, started (they run on the leading server only); null without a
  // directory. The caller keeps it, stopped before `auth` and `audit` go.
  std::unique_ptr<PeriodicTask> start_checks(services::AuthService& auth,
                                             services::AuditLog& audit);

 private:
  SignIn(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  Store& store_;
  const Clock& clock_;
  bool local_accounts_ = true;
  std::chrono::milliseconds check_interval_{0};
  std::unique_ptr<auth::LdapDirectory> ldap_;
  std::unique_ptr<auth::OidcClient> oidc_;
  std::unique_ptr<services::ExternalAccounts> accounts_;
  std::unique_ptr<services::ProviderTokens> provider_tokens_;
  std::unique_ptr<services::DirectoryChecks> checks_;
};

}  // namespace gpupool::app
