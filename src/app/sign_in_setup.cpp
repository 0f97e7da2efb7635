#include "app/sign_in_setup.hpp"

#include <spdlog/spdlog.h>

#include "core/duration.hpp"

namespace gpupool::app {

Result<std::unique_ptr<SignIn>> SignIn::make(const AuthConfig& config, Store& store,
                                             const Clock& clock) {
  std::unique_ptr<SignIn> made(new SignIn(store, clock));
  made->local_accounts_ = config.local_accounts;
  if (!config.local_accounts && !config.ldap && !config.oidc) {
    return make_error(ErrorCode::invalid_argument,
                      "[auth] local_accounts = false needs a directory to sign in with "
                      "([auth.ldap] or [auth.oidc])");
  }
  auto interval = parse_duration(config.check_interval);
  if (!interval || *interval < 10'000) {
    return make_error(ErrorCode::invalid_argument,
                      "[auth] check_interval must be a duration of at least 10s (\"5m\")");
  }
  made->check_interval_ = std::chrono::milliseconds(*interval);
  if (config.ldap) {
    GPUPOOL_TRY(auth::check_ldap_settings(*config.ldap));
    made->ldap_ = std::make_unique<auth::LdapDirectory>(*config.ldap);
  }
  if (config.oidc) {
    GPUPOOL_TRY(auth::check_oidc_settings(*config.oidc));
    made->oidc_ = std::make_unique<auth::OidcClient>(*config.oidc);
    made->provider_tokens_ =
        std::make_unique<services::ProviderTokens>(store, clock, config.oidc->client_secret);
  }
  if (config.ldap || config.oidc)
    made->accounts_ = std::make_unique<services::ExternalAccounts>(store, clock, config.accounts);
  return made;
}

services::SignInSources SignIn::sources() const {
  return {local_accounts_, ldap_.get(), accounts_.get()};
}

std::unique_ptr<PeriodicTask> SignIn::start_checks(services::AuthService& auth,
                                                   services::AuditLog& audit) {
  if (!accounts_) return nullptr;
  checks_ = std::make_unique<services::DirectoryChecks>(
      store_, clock_, auth,
      services::DirectorySources{ldap_.get(), oidc_.get(), provider_tokens_.get()}, *accounts_,
      audit);
  auto task = std::make_unique<PeriodicTask>(
      check_interval_,
      [this] {
        if (!store_.leads()) return;
        auto ended = checks_->check_once();
        if (!ended) spdlog::warn("directory check: {}", ended.error().message);
      },
      PeriodicTask::First::after_interval);
  task->start();
  return task;
}

}  // namespace gpupool::app
