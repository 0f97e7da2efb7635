// OidcClient: gpupool as an OpenID Connect relying party (the authorization code flow with
// PKCE, OpenID Connect Core 1.0 and RFC 7636). It learns the provider's endpoints from its
// discovery document, sends the browser there with a state, a nonce and a code challenge,
// redeems the code it comes back with (as a confidential client) and checks the ID token
// (auth/jwt.hpp) before any claim of it is believed. Blocking; thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/jwt.hpp"
#include "auth/ldap_directory.hpp"
#include "core/result.hpp"

namespace gpupool::auth {

struct OidcSettings {
  std::string name = "OpenID Connect";  // the portal's "Sign in with NAME"
  std::string issuer;                   // https://…; its /.well-known/openid-configuration
  std::string client_id;
  std::string client_secret;
  std::vector<std::string> scopes = {"openid", "profile", "email"};
  std::string username_claim = "preferred_username";
  std::string groups_claim = "groups";  // an array of names ("/ml-lab" paths: the last part)
  std::string uid_claim;                // "": gpupool assigns uids
  std::string gid_claim;
  std::string ca_file;  // PEM CAs trusted for the provider besides the system's
  int timeout_s = 10;
};

Status check_oidc_settings(const OidcSettings& settings);

// What the browser is sent to the provider with, and what the callback needs back.
struct OidcAttempt {
  std::string state;
  std::string nonce;
  std::string code_verifier;
  std::string authorization_url;
};

// A sign-in's outcome: the account, and what lets gpupool ask about it later.
struct OidcSignIn {
  DirectoryAccount account;
  std::string refresh_token;  // "": the provider gave none
  std::string nonce;          // the sign-in's, which a renewed ID token may repeat
};

// A renewal's outcome: the account as the renewed ID token has it (none when the provider
// sent no ID token), and the refresh token to keep (a new one where the provider rotates).
struct OidcRenewal {
  std::optional<DirectoryAccount> account;
  std::string refresh_token;
};

class OidcClient {
 public:
  explicit OidcClient(OidcSettings settings) : settings_(std::move(settings)) {}

  // A new sign-in: fresh state, nonce and PKCE verifier, and the provider's URL to go to.
  // unavailable while the provider's discovery document cannot be read.
  Result<OidcAttempt> begin(const std::string& redirect_uri);
  // Redeems `code` and checks the ID token against the attempt's nonce; the account it names.
  // unauthorized when the provider refuses the code or the token fails a check.
  Result<OidcSignIn> finish(const std::string& code, const OidcAttempt& attempt,
                            const std::string& redirect_uri, std::int64_t now_seconds);
  // Redeems a sign-in's refresh token: whether the provider still stands by it. unauthorized
  // only when the provider refuses the grant (invalid_grant: the account is disabled or
  // gone, or the grant was revoked or has expired); unavailable when it cannot be asked or
  // answers anything else, a renewed ID token that fails a check included (a wrong client
  // secret or a clock must not pass for every user's refusal).
  Result<OidcRenewal> renew(const std::string& refresh_token, const std::string& nonce,
                            std::int64_t now_seconds);

  const OidcSettings& settings() const { return settings_; }

 private:
  struct Provider {
    std::string authorization_endpoint;
    std::string token_endpoint;
    std::string jwks_uri;
  };
  Result<Provider> provider();
  Result<JsonWebKeys> keys(bool refresh);
  // POSTs the form to the token endpoint as this client; its status and JSON answer.
  Result<std::pair<int, nlohmann::json>> token_request(
      const std::vector<std::pair<std::string, std::string>>& fields);
  Result<DirectoryAccount> checked_account(const std::string& id_token,
                                           const IdTokenExpectations& expected);
  Result<DirectoryAccount> account_of(const nlohmann::json& claims) const;

  OidcSettings settings_;
  std::mutex mutex_;
  std::optional<Provider> provider_;                    // guarded by mutex_
  std::optional<JsonWebKeys> keys_;                     // guarded by mutex_
  std::chrono::steady_clock::time_point keys_fetched_;  // guarded by mutex_
};

}  // namespace gpupool::auth
