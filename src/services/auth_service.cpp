#include "services/auth_service.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "auth/names.hpp"
#include "auth/password.hpp"
#include "core/log.hpp"
#include "core/random.hpp"

namespace gpupool::services {

namespace {

constexpr std::size_t kCredentialIdLength = 16;

Error bad_credentials() {
  return make_error(ErrorCode::unauthorized, "wrong username or password");
}

}  // namespace

const std::string& AuthService::decoy_hash() {
  std::call_once(decoy_once_, [this] {
    auto hash = auth::hash_password(random_token(24));
    decoy_hash_ = hash ? *hash : "";
  });
  return decoy_hash_;
}

Result<LoginResult> AuthService::login(const std::string& username, const std::string& password,
                                       const std::string& source_address) {
  auto name = auth::canonical_username(username);
  if (!name) return bad_credentials();
  UnixMillis wait = limiter_.wait_before_attempt(*name, source_address, clock_.now());
  if (wait > 0) {
    return make_error(ErrorCode::rate_limited,
                      fmt::format("too many failed logins from this address; try again in {} s",
                                  (wait + 999) / 1000));
  }
  auto stored = store_.find_user_by_name(*name);
  if (!stored) return stored.error();
  auto user = check_password(*name, *stored, password);
  if (!user) {
    if (user.error().code == ErrorCode::unauthorized)
      limiter_.record_failure(*name, source_address, clock_.now());
    return user.error();
  }
  limiter_.record_success(*name, source_address);
  if (user->disabled)
    return make_error(ErrorCode::forbidden, "this account is disabled; ask an admin");
  return sign_in(*user);
}

Result<LoginResult> AuthService::sign_in(const User& user) {
  LoginResult result{user, random_token(32), random_token(24)};
  UnixMillis now = clock_.now();
  GPUPOOL_TRY(store_.add_credential({digest_hex(result.cookie_secret), result.user.id,
                                     CredentialKind::login, "", result.csrf_token, now,
                                     now + kLoginLifetimeMillis}));
  return result;
}

Result<User> AuthService::check_password(const std::string& name,
                                         const std::optional<StoredUser>& stored,
                                         const std::string& password) {
  const auth::LdapDirectory* ldap = sources_.ldap;
  bool local = stored && stored->user.source == AccountSource::local;
  bool try_ldap = ldap != nullptr && sources_.accounts != nullptr &&
                  (!stored || stored->user.source == AccountSource::ldap ||
                   (local && sources_.accounts->policy().adopt_local_accounts));
  if (try_ldap) {
    auto account = ldap->sign_in(name, password);
    if (account) {
      auto user = sources_.accounts->provision(AccountSource::ldap, *account);
      if (!user) spdlog::warn("LDAP sign-in of {} refused: {}", name, user.error().message);
      return user;
    }
    if (account.error().code != ErrorCode::unauthorized) {
      spdlog::error("LDAP sign-in of {}: {}", name, account.error().message);
      return make_error(ErrorCode::unavailable,
                        "the organisation's directory cannot be reached; try again later");
    }
    if (!local) return bad_credentials();
  }
  if (!sources_.local_accounts) {
    (void)auth::verify_password(decoy_hash(), password);  // as long as a real check takes
    return bad_credentials();
  }
  return check_local_password(stored, password);
}

Result<User> AuthService::check_local_password(const std::optional<StoredUser>& stored,
                                               const std::string& password) {
  bool known = stored && stored->user.source == AccountSource::local;
  if (!auth::verify_password(known ? stored->password_hash : decoy_hash(), password) || !known)
    return bad_credentials();
  return stored->user;
}

Status AuthService::logout(const Principal& principal) {
  {
    std::lock_guard lock(mutex_);
    recent_.erase(principal.credential_digest);
  }
  return store_.delete_credential(principal.credential_digest);
}

Result<Principal> AuthService::authenticate(const std::string& secret, CredentialKind kind) {
  auto unauthorized =
      make_error(ErrorCode::unauthorized, "not logged in, or the credential expired");
  if (secret.empty() || secret.size() > 256) return unauthorized;
  return authenticate_digest(digest_hex(secret), kind);
}

Result<Principal> AuthService::recheck(const Principal& principal) {
  return authenticate_digest(principal.credential_digest, principal.kind);
}

Result<Principal> AuthService::authenticate_digest(const std::string& digest, CredentialKind kind) {
  auto unauthorized =
      make_error(ErrorCode::unauthorized, "not logged in, or the credential expired");
  UnixMillis now = clock_.now();
  {
    std::lock_guard lock(mutex_);
    auto known = recent_.find(digest);
    if (known != recent_.end() && now - known->second.looked_up_at < kCredentialCacheMillis &&
        (known->second.expires_at == 0 || now < known->second.expires_at)) {
      if (known->second.principal.kind != kind) return unauthorized;
      return known->second.principal;
    }
  }
  auto credential = store_.find_credential(digest, now);
  if (!credential) return credential.error();
  if (!credential->has_value() || (*credential)->kind != kind) return unauthorized;
  auto user = store_.find_user((*credential)->user_id);
  if (!user) return user.error();
  if (!user->has_value() || (*user)->disabled) return unauthorized;
  if ((*user)->source == AccountSource::local && !sources_.local_accounts) return unauthorized;
  Principal principal{**user, kind, digest, (*credential)->csrf_token};
  std::lock_guard lock(mutex_);
  if (recent_.size() >= kCredentialCacheSize) recent_.clear();  // bounded; refills as used
  recent_[digest] = {principal, now, (*credential)->expires_at};
  return principal;
}

Result<MintedToken> AuthService::mint_token(const Principal& principal, const std::string& name,
                                            std::optional<int> lifetime_days) {
  MintedToken minted{"gp_" + random_token(32), name, 0};
  UnixMillis now = clock_.now();
  minted.expires_at =
      now + std::int64_t{lifetime_days.value_or(kDefaultTokenLifetimeDays)} * 24 * 3600 * 1000;
  GPUPOOL_TRY(store_.add_credential({digest_hex(minted.token), principal.user.id,
                                     CredentialKind::api_token, name, "", now, minted.expires_at}));
  return minted;
}

void AuthService::forget_cached(const EndedCredentials& digests) {
  std::lock_guard lock(mutex_);
  for (const auto& digest : digests) recent_.erase(digest);
}

Result<std::vector<CredentialInfo>> AuthService::list_credentials(const Principal& caller,
                                                                  std::int64_t user_id) {
  auto stored = store_.list_credentials(user_id, clock_.now());
  if (!stored) return stored.error();
  std::vector<CredentialInfo> listed;
  for (const auto& credential : *stored) {
    listed.push_back({credential.secret_digest.substr(0, kCredentialIdLength), credential.kind,
                      credential.name, credential.created_at, credential.expires_at,
                      credential.secret_digest == caller.credential_digest});
  }
  return listed;
}

Result<std::string> AuthService::revoke_credential(std::int64_t user_id, const std::string& id) {
  auto stored = store_.list_credentials(user_id, clock_.now());
  if (!stored) return stored.error();
  for (const auto& credential : *stored) {
    if (id.size() != kCredentialIdLength || !credential.secret_digest.starts_with(id)) continue;
    GPUPOOL_TRY(store_.delete_credential(credential.secret_digest));
    forget_cached({credential.secret_digest});
    return credential.secret_digest;
  }
  return make_error(ErrorCode::not_found, "no such token or login");
}

Result<UnixMillis> AuthService::renew_token(const Principal& caller) {
  if (caller.kind != CredentialKind::api_token)
    return make_error(ErrorCode::invalid_argument,
                      "only API tokens are renewed; a login lasts 7 days, sign in again");
  UnixMillis expires_at = clock_.now() + std::int64_t{kDefaultTokenLifetimeDays} * 24 * 3600 * 1000;
  GPUPOOL_TRY(store_.set_credential_expiry(caller.credential_digest, expires_at));
  forget_cached({caller.credential_digest});
  return expires_at;
}

Result<EndedCredentials> AuthService::change_password(const Principal& caller,
                                                      const std::string& current,
                                                      const std::string& replacement) {
  if (caller.user.source != AccountSource::local) {
    return make_error(ErrorCode::conflict,
                      "your password is kept by your organisation's directory; change it there");
  }
  auto stored = store_.find_user_by_name(caller.user.username);
  if (!stored) return stored.error();
  if (!stored->has_value() || !auth::verify_password((*stored)->password_hash, current))
    return make_error(ErrorCode::forbidden, "the current password is wrong");
  GPUPOOL_TRY(auth::check_password_rules(replacement));
  auto hash = auth::hash_password(replacement);
  if (!hash) return hash.error();
  EndedCredentials ended;
  GPUPOOL_TRY(store_.in_transaction([&]() -> Status {
    GPUPOOL_TRY(store_.set_password_hash(caller.user.id, *hash));
    auto deleted = store_.delete_credentials_of(caller.user.id, CredentialKind::login,
                                                caller.credential_digest);
    if (!deleted) return deleted.error();
    ended = std::move(*deleted);
    return {};
  }));
  forget_cached(ended);
  return ended;
}

Result<EndedCredentials> AuthService::set_access(const Principal& actor, const User& target,
                                                 std::optional<bool> admin,
                                                 std::optional<bool> disabled) {
  if (!actor.user.admin) return make_error(ErrorCode::forbidden, "only admins can change access");
  bool new_admin = admin.value_or(target.admin);
  bool new_disabled = disabled.value_or(target.disabled);
  bool stays_admin = new_admin && !new_disabled;
  if (target.admin && !target.disabled && !stays_admin) {
    auto users = store_.list_users();
    if (!users) return users.error();
    auto enabled_admins = std::count_if(users->begin(), users->end(), [](const User& user) {
      return user.admin && !user.disabled;
    });
    if (enabled_admins <= 1)
      return make_error(ErrorCode::conflict, "the pool needs an enabled admin; make another first");
  }
  EndedCredentials ended;
  GPUPOOL_TRY(store_.in_transaction([&]() -> Status {
    GPUPOOL_TRY(store_.set_user_access(target.id, new_admin, new_disabled));
    if (!new_disabled) return {};
    auto deleted = store_.delete_credentials_of(target.id, std::nullopt, "");
    if (!deleted) return deleted.error();
    ended = std::move(*deleted);
    return {};
  }));
  forget_cached(ended);
  forget_user(target.id);  // a cached principal must not keep the old rights for a few seconds
  return ended;
}

void AuthService::forget_user(std::int64_t user_id) {
  std::lock_guard lock(mutex_);
  std::erase_if(recent_,
                [&](const auto& entry) { return entry.second.principal.user.id == user_id; });
}

Result<EndedCredentials> AuthService::end_credentials(std::int64_t user_id) {
  auto ended = store_.delete_credentials_of(user_id, std::nullopt, "");
  if (!ended) return ended.error();
  forget_cached(*ended);
  forget_user(user_id);
  return ended;
}

Result<User> AuthService::create_user(const Principal& actor, const std::string& username,
                                      const std::string& password, bool admin) {
  if (!actor.user.admin) return make_error(ErrorCode::forbidden, "only admins can create users");
  if (!sources_.local_accounts) {
    return make_error(ErrorCode::conflict,
                      "local accounts are turned off: users sign in with the organisation's "
                      "accounts");
  }
  auto name = auth::canonical_username(username);
  if (!name) return name.error();
  GPUPOOL_TRY(auth::check_not_reserved(*name));
  GPUPOOL_TRY(auth::check_password_rules(password));
  auto hash = auth::hash_password(password);
  if (!hash) return hash.error();
  return store_.create_user(*name, *hash, admin, clock_.now());
}

Result<bool> AuthService::bootstrap_admin(const std::string& password) {
  auto count = store_.count_users();
  if (!count) return count.error();
  if (*count > 0) return false;
  GPUPOOL_TRY(auth::check_password_rules(password));
  auto hash = auth::hash_password(password);
  if (!hash) return hash.error();
  auto user = store_.create_user("admin", *hash, true, clock_.now());
  if (!user) return user.error();
  return true;
}

}  // namespace gpupool::services
