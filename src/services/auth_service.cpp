#include "services/auth_service.hpp"

#include <fmt/format.h>

#include "auth/names.hpp"
#include "auth/password.hpp"
#include "core/log.hpp"
#include "core/random.hpp"

namespace gpupool::services {

namespace {

constexpr UnixMillis kAttemptWindowMillis = 5 * 60 * 1000;
constexpr int kFailuresPerUser = 10;
constexpr int kFailuresPerAddress = 50;
constexpr std::size_t kMaxTrackedKeys = 100'000;

Error bad_credentials() {
  return make_error(ErrorCode::unauthorized, "wrong username or password");
}

}  // namespace

bool AuthService::allow_attempt(const std::string& key, int limit) {
  std::lock_guard lock(mutex_);
  auto it = attempts_.find(key);
  if (it == attempts_.end()) return true;
  if (clock_.now() - it->second.window_start > kAttemptWindowMillis) {
    attempts_.erase(it);
    return true;
  }
  return it->second.failures < limit;
}

void AuthService::record_failure(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (attempts_.size() >= kMaxTrackedKeys) attempts_.clear();  // bounded memory under attack
  auto& attempts = attempts_[key];
  if (attempts.failures == 0) attempts.window_start = clock_.now();
  ++attempts.failures;
}

void AuthService::forget_failures(const std::string& key) {
  std::lock_guard lock(mutex_);
  attempts_.erase(key);
}

Result<LoginResult> AuthService::login(const std::string& username, const std::string& password,
                                       const std::string& source_address) {
  auto name = auth::canonical_username(username);
  if (!name) return bad_credentials();
  std::string user_key = "user:" + *name;
  std::string address_key = "addr:" + source_address;
  if (!allow_attempt(user_key, kFailuresPerUser) ||
      !allow_attempt(address_key, kFailuresPerAddress)) {
    return make_error(ErrorCode::rate_limited,
                      "too many failed logins; try again in a few minutes");
  }
  auto stored = store_.find_user_by_name(*name);
  if (!stored) return stored.error();
  if (!stored->has_value() || !auth::verify_password((*stored)->password_hash, password)) {
    record_failure(user_key);
    record_failure(address_key);
    return bad_credentials();
  }
  forget_failures(user_key);
  LoginResult result{(*stored)->user, random_token(32), random_token(24)};
  UnixMillis now = clock_.now();
  GPUPOOL_TRY(store_.add_credential({digest_hex(result.cookie_secret), result.user.id,
                                     CredentialKind::login, "", result.csrf_token, now,
                                     now + kLoginLifetimeMillis}));
  return result;
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
  if (!user->has_value()) return unauthorized;
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
  if (lifetime_days) minted.expires_at = now + std::int64_t{*lifetime_days} * 24 * 3600 * 1000;
  GPUPOOL_TRY(store_.add_credential({digest_hex(minted.token), principal.user.id,
                                     CredentialKind::api_token, name, "", now, minted.expires_at}));
  return minted;
}

Result<User> AuthService::create_user(const Principal& actor, const std::string& username,
                                      const std::string& password, bool admin) {
  if (!actor.user.admin) return make_error(ErrorCode::forbidden, "only admins can create users");
  auto name = auth::canonical_username(username);
  if (!name) return name.error();
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
