// AuthService: users, logins, API tokens and who a request is.
//
// Secrets (cookie values, API tokens) are random, shown once, and stored only as digests;
// passwords as argon2id hashes. Failed logins slow down per (user, source address) and per
// source address (login_limiter.hpp); a login for a user that does not exist costs the same
// password check as one that does. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "auth/ldap_directory.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "services/external_accounts.hpp"
#include "services/login_limiter.hpp"
#include "store/store.hpp"

namespace gpupool::services {

// An authenticated caller.
struct Principal {
  User user;
  CredentialKind kind = CredentialKind::login;
  std::string credential_digest;
  std::string csrf_token;  // logins only
};

struct LoginResult {
  User user;
  std::string cookie_secret;
  std::string csrf_token;
};

struct MintedToken {
  std::string token;
  std::string name;
  UnixMillis expires_at = 0;
};

inline constexpr UnixMillis kLoginLifetimeMillis = 7LL * 24 * 3600 * 1000;
// API tokens expire unless asked otherwise; a token renews itself for as long again.
inline constexpr int kDefaultTokenLifetimeDays = 30;

// A credential as its owner and admins see it: never its secret.
struct CredentialInfo {
  std::string id;  // the first 16 hex digits of the secret's digest: names it, reveals nothing
  CredentialKind kind = CredentialKind::login;
  std::string name;
  UnixMillis created_at = 0;
  UnixMillis expires_at = 0;
  bool current = false;  // the one this request came with
};

// What an access change ended: the digests of credentials deleted, so that the connections
// they hold open (WebSockets, event streams) can be closed too.
using EndedCredentials = std::vector<std::string>;

// Where passwords are checked. With a directory, a name it knows signs in there (a user is
// created at first sign-in); local accounts keep their gpupool password unless turned off,
// which also ends what their credentials open.
struct SignInSources {
  bool local_accounts = true;
  const auth::LdapDirectory* ldap = nullptr;  // null: no LDAP directory
  ExternalAccounts* accounts = nullptr;       // needed with a directory
};

class AuthService {
 public:
  AuthService(Store& store, const Clock& clock, LoginLimits limits = {}, SignInSources sources = {})
      : store_(store), clock_(clock), limiter_(limits), sources_(sources) {}

  Result<LoginResult> login(const std::string& username, const std::string& password,
                            const std::string& source_address);
  // A login for a user whom an identity provider has just vouched for.
  Result<LoginResult> sign_in(const User& user);
  Status logout(const Principal& principal);
  Result<Principal> authenticate(const std::string& secret, CredentialKind kind);
  // The same credential again, for connections that outlive a request: an Error once it
  // was logged out, revoked or has expired (or its user was removed).
  Result<Principal> recheck(const Principal& principal);
  Result<MintedToken> mint_token(const Principal& principal, const std::string& name,
                                 std::optional<int> lifetime_days);
  Result<User> create_user(const Principal& actor, const std::string& username,
                           const std::string& password, bool admin);

  // Credential lifecycle. The caller checks who may see or revoke another user's.
  Result<std::vector<CredentialInfo>> list_credentials(const Principal& caller,
                                                       std::int64_t user_id);
  // not_found unless the user has a live credential with that id; returns its digest.
  Result<std::string> revoke_credential(std::int64_t user_id, const std::string& id);
  // The calling API token lives another kDefaultTokenLifetimeDays from now.
  Result<UnixMillis> renew_token(const Principal& caller);
  // Needs the current password; ends every other login of the user.
  Result<EndedCredentials> change_password(const Principal& caller, const std::string& current,
                                           const std::string& replacement);
  // Admins only. Disabling ends every credential of the user; the pool always keeps an
  // enabled admin.
  Result<EndedCredentials> set_access(const Principal& actor, const User& target,
                                      std::optional<bool> admin, std::optional<bool> disabled);

  // First start: creates `admin` with `password` when the store has no users. Returns true
  // when it created one.
  Result<bool> bootstrap_admin(const std::string& password);

  // Ends every credential of the user (the directory no longer has them, or excludes them).
  Result<EndedCredentials> end_credentials(std::int64_t user_id);

  const SignInSources& sources() const { return sources_; }

 private:
  Result<Principal> authenticate_digest(const std::string& digest, CredentialKind kind);
  // The user `name` (stored: as the store has them) when `password` is theirs, checked where
  // they sign in.
  Result<User> check_password(const std::string& name, const std::optional<StoredUser>& stored,
                              const std::string& password);
  Result<User> check_local_password(const std::optional<StoredUser>& stored,
                                    const std::string& password);
  void forget_user(std::int64_t user_id);
  // A hash of no one's password, checked when the user does not exist so that the answer
  // takes as long as for one who does.
  const std::string& decoy_hash();
  void forget_cached(const EndedCredentials& digests);

  // Credentials seen in the last few seconds, so that a busy client costs no store lookups;
  // logout drops its entry at once, and expiry is checked on every use.
  struct Recent {
    Principal principal;
    UnixMillis looked_up_at = 0;
    UnixMillis expires_at = 0;
  };
  static constexpr UnixMillis kCredentialCacheMillis = 5000;
  static constexpr std::size_t kCredentialCacheSize = 10000;

  Store& store_;
  const Clock& clock_;
  std::mutex mutex_;
  LoginLimiter limiter_;
  const SignInSources sources_;
  std::once_flag decoy_once_;
  std::string decoy_hash_;                // set once through decoy_once_
  std::map<std::string, Recent> recent_;  // guarded by mutex_, by credential digest
};

}  // namespace gpupool::services
