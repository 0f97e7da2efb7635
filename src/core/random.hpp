// Cryptographically secure random identifiers and secrets (libsodium's CSPRNG).
//
// All functions are thread-safe. init_crypto() must be called once at start-up (main does it).
#pragma once

#include <string>

namespace gpupool {

void init_crypto();

// `bytes` random bytes as lowercase hex (2 × bytes characters).
std::string random_hex(std::size_t bytes);

// `bytes` random bytes as unpadded base64url.
std::string random_token(std::size_t bytes);

// A short, DNS-safe, lower-case identifier for sessions: "s" + 12 base32 characters.
std::string new_session_id();

// Hex of a keyed-free BLAKE2b-256 digest; used to store tokens hashed.
std::string digest_hex(const std::string& input);

// PKCE's S256 code challenge of a verifier (RFC 7636 §4.2): its SHA-256, unpadded base64url.
std::string pkce_challenge(const std::string& verifier);

// Whether two secrets are equal, in a time that does not depend on where they first differ.
bool secrets_equal(const std::string& a, const std::string& b);

}  // namespace gpupool
