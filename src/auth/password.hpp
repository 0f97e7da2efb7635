// Password hashing with argon2id (libsodium's crypto_pwhash_str). Thread-safe.
#pragma once

#include <string>

#include "core/result.hpp"

namespace gpupool::auth {

inline constexpr std::size_t kMinPasswordLength = 8;
inline constexpr std::size_t kMaxPasswordLength = 256;

// Checks length rules; returns an invalid_argument Error the user can act on.
Status check_password_rules(const std::string& password);

// An argon2id hash string that embeds its own salt and parameters.
Result<std::string> hash_password(const std::string& password);

// Constant-time verification against a stored hash.
bool verify_password(const std::string& stored_hash, const std::string& password);

}  // namespace gpupool::auth
