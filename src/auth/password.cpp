#include "auth/password.hpp"

#include <sodium.h>

#include <fmt/format.h>

namespace gpupool::auth {

Status check_password_rules(const std::string& password) {
  if (password.size() < kMinPasswordLength || password.size() > kMaxPasswordLength) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("password must be {} to {} characters", kMinPasswordLength,
                                  kMaxPasswordLength));
  }
  return {};
}

Result<std::string> hash_password(const std::string& password) {
  char hashed[crypto_pwhash_STRBYTES];
  // Interactive limits: about 64 MiB and tens of milliseconds per hash on a server core.
  if (crypto_pwhash_str_alg(hashed, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error(ErrorCode::internal, "out of memory while hashing a password");
  }
  return std::string(hashed);
}

bool verify_password(const std::string& stored_hash, const std::string& password) {
  if (stored_hash.empty()) return false;  // no password of its own: a directory's account
  return crypto_pwhash_str_verify(stored_hash.c_str(), password.data(), password.size()) == 0;
}

}  // namespace gpupool::auth
