#include "services/directory_checks.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace gpupool::services {

Result<int> DirectoryChecks::check_once() {
  auto users = store_.list_users();
  if (!users) return users.error();
  std::map<AccountSource, Holders> holders;
  for (const auto& user : *users) {
    if (user.source == AccountSource::local || user.disabled) continue;
    auto credentials = store_.list_credentials(user.id, clock_.now());
    if (!credentials) return credentials.error();
    if (!credentials->empty()) holders[user.source].emplace(user.username, user);
  }
  int ended = 0;
  if (sources_.ldap != nullptr && !holders[AccountSource::ldap].empty()) {
    auto ldap_ended = check_ldap(holders[AccountSource::ldap]);
    if (!ldap_ended) return ldap_ended.error();
    ended += *ldap_ended;
  }
  if (sources_.oidc != nullptr && !holders[AccountSource::oidc].empty()) {
    auto provider_ended = check_provider(holders[AccountSource::oidc]);
    if (!provider_ended) return provider_ended.error();
    ended += *provider_ended;
  }
  return ended;
}

Result<int> DirectoryChecks::check_ldap(const Holders& holders) {
  std::vector<std::string> names;
  for (const auto& [name, user] : holders) names.push_back(name);
  auto found = sources_.ldap->look_up(names);
  if (!found) return found.error();
  int ended_users = 0;
  for (const auto& [name, user] : holders) {
    auto account = found->find(name);
    if (account == found->end()) {
      GPUPOOL_TRY(end_user(user, "gone from the LDAP directory (or excluded by its filter)"));
      ++ended_users;
    } else if (auto refreshed = accounts_.refresh(user, account->second); !refreshed) {
      spdlog::warn("directory check of {}: {}", name, refreshed.error().message);
    }
  }
  return ended_users;
}

Result<int> DirectoryChecks::check_provider(const Holders& holders) {
  int ended_users = 0;
  int unchecked = 0;
  for (const auto& [name, user] : holders) {
    auto kept = sources_.provider_tokens->find(user.id);
    if (!kept) return kept.error();
    if (!kept->has_value()) {
      ++unchecked;
      continue;
    }
    const ProviderToken& token = **kept;
    auto renewal = sources_.oidc->renew(token.refresh_token, token.nonce, clock_.now() / 1000);
    if (!renewal && renewal.error().code == ErrorCode::unauthorized) {
      GPUPOOL_TRY(sources_.provider_tokens->drop(user.id));
      GPUPOOL_TRY(end_user(user, renewal.error().message));
      ++ended_users;
      continue;
    }
    // The provider's trouble is everyone's: asking about the next user would only wait again.
    if (!renewal) return renewal.error();
    GPUPOOL_TRY(sources_.provider_tokens->renewed(user.id, token, renewal->refresh_token));
    if (!renewal->account) continue;
    if (renewal->account->dn != user.external_id) {
      spdlog::warn("directory check of {}: the provider's renewal names another subject", name);
    } else if (auto refreshed = accounts_.refresh(user, *renewal->account); !refreshed) {
      spdlog::warn("directory check of {}: {}", name, refreshed.error().message);
    }
  }
  if (unchecked > 0 && !told_of_unchecked_) {
    told_of_unchecked_ = true;
    spdlog::warn(
        "{} user(s) signed in through the identity provider cannot be checked: it issued no "
        "refresh token at their sign-in (docs/auth.md: offline_access); their credentials last "
        "until they expire",
        unchecked);
  }
  return ended_users;
}

Status DirectoryChecks::end_user(const User& user, const std::string& why) {
  auto ended = auth_.end_credentials(user.id);
  if (!ended) return ended.error();
  spdlog::warn("directory check of {}: {}; {} credential(s) ended", user.username, why,
               ended->size());
  audit_.record({.actor = "directory",
                 .source = std::string(to_string(user.source)),
                 .action = "user.directory_ended",
                 .target = user.username,
                 .outcome = 200,
                 .detail = fmt::format("{}; {} credential(s) ended", why, ended->size())});
  return {};
}

}  // namespace gpupool::services
