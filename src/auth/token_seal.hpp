// TokenSeal: authenticated encryption of a secret gpupool keeps for later (an identity
// provider's refresh token) with a key derived from another secret that stays out of the
// database (the OpenID Connect client's secret, from the config file). A copy of the
// database alone opens nothing; a sealed value changed or moved to another row fails to
// open. libsodium's XChaCha20-Poly1305 AEAD, a fresh random nonce each time. Pure;
// thread-safe.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace gpupool::auth {

class TokenSeal {
 public:
  // `purpose` separates keys made from the same secret for different uses.
  TokenSeal(std::string_view secret, std::string_view purpose);

  // "v1." and base64url of nonce and ciphertext. `context` (a user id) is bound in: the
  // value opens only with the same context.
  std::string seal(std::string_view plain, std::string_view context) const;
  // nullopt: not sealed by this key (another secret, a changed value, another context).
  std::optional<std::string> open(std::string_view sealed, std::string_view context) const;

 private:
  std::array<unsigned char, 32> key_{};
};

}  // namespace gpupool::auth
