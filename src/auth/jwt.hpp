// ID tokens of OpenID Connect: JSON Web Tokens signed by the provider (RFC 7515, 7517,
// 7519), checked as OpenID Connect Core 1.0 §3.1.3.7 says: the signature with the provider's
// published key (RS256/384/512 or ES256 only — never "none" or a shared-secret HS256, which
// would let anyone who knows the client's secret forge one), then issuer, audience (and azp),
// expiry, issue time and the nonce of this sign-in. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.hpp"

using EVP_PKEY = struct evp_pkey_st;

namespace gpupool::auth {

struct PublicKey {
  std::string kty;  // "RSA" or "EC"
  std::shared_ptr<EVP_PKEY> key;
};

// A provider's JWKS document: its signing keys by kid (keys for encryption, or of other
// kinds, are left out).
using JsonWebKeys = std::map<std::string, PublicKey>;
Result<JsonWebKeys> parse_json_web_keys(const std::string& document);

struct IdTokenExpectations {
  std::string issuer;
  std::string client_id;
  std::string nonce;
  std::int64_t now_seconds = 0;
  std::int64_t leeway_seconds = 60;  // clocks that differ a little
  // A renewal's ID token (from a refresh token) may leave the nonce out; one it holds must
  // still be the sign-in's (OpenID Connect Core §12.2).
  bool nonce_optional = false;
};

// The token's claims when it passes every check; unauthorized saying which failed. A token
// signed with a key id the keys lack is not_found (the caller may fetch the keys again).
Result<nlohmann::json> verify_id_token(const std::string& token, const JsonWebKeys& keys,
                                       const IdTokenExpectations& expected);

}  // namespace gpupool::auth
