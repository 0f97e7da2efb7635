// ProviderTokens: for each user who signed in through the OpenID Connect provider, the
// refresh token of their latest sign-in (with that sign-in's nonce), which lets the directory
// check (services/directory_checks.hpp) ask the provider whether it still stands by them.
// Kept in the store sealed (auth/token_seal.hpp) with a key derived from the client's secret
// and bound to the user's id: a copy of the database alone redeems nothing, and a value
// moved to another user's row does not open. Thread-safe as far as the store is.
#pragma once

#include <optional>
#include <string>

#include "auth/oidc_client.hpp"
#include "auth/token_seal.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace gpupool::services {

struct ProviderToken {
  std::string refresh_token;
  std::string nonce;
  std::string sealed;  // as stored: what replace() expects
};

class ProviderTokens {
 public:
  ProviderTokens(Store& store, const Clock& clock, const std::string& client_secret)
      : store_(store), clock_(clock), seal_(client_secret, "gpupool provider refresh tokens") {}

  // Keeps the sign-in's refresh token in place of the user's older one; a sign-in without
  // one leaves the older one be.
  Status keep(std::int64_t user_id, const auth::OidcSignIn& sign_in);
  // nullopt: none kept, or one sealed with another client secret (changed since).
  Result<std::optional<ProviderToken>> find(std::int64_t user_id);
  // After a renewal: the new refresh token, unless a sign-in has replaced `kept` meanwhile.
  Status renewed(std::int64_t user_id, const ProviderToken& kept, const std::string& refresh_token);
  Status drop(std::int64_t user_id) { return store_.drop_provider_token(user_id); }

 private:
  std::string sealed(std::int64_t user_id, const std::string& refresh_token,
                     const std::string& nonce) const;

  Store& store_;
  const Clock& clock_;
  auth::TokenSeal seal_;
};

}  // namespace gpupool::services
