#include "auth/token_seal.hpp"

#include <sodium.h>

#include <vector>

#include "core/base64.hpp"

namespace gpupool::auth {

namespace {

constexpr std::string_view kVersion = "v1.";
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;

const unsigned char* bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

}  // namespace

TokenSeal::TokenSeal(std::string_view secret, std::string_view purpose) {
  static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == 32);
  // BLAKE2b over the purpose, a separator no purpose holds, and the secret.
  std::string input = std::string(purpose) + '\0' + std::string(secret);
  crypto_generichash(key_.data(), key_.size(), bytes(input), input.size(), nullptr, 0);
  sodium_memzero(input.data(), input.size());
}

std::string TokenSeal::seal(std::string_view plain, std::string_view context) const {
  std::vector<unsigned char> box(kNonceBytes + plain.size() +
                                 crypto_aead_xchacha20poly1305_ietf_ABYTES);
  randombytes_buf(box.data(), kNonceBytes);
  unsigned long long sealed_size = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(box.data() + kNonceBytes, &sealed_size, bytes(plain),
                                             plain.size(), bytes(context), context.size(), nullptr,
                                             box.data(), key_.data());
  std::string_view raw(reinterpret_cast<const char*>(box.data()), kNonceBytes + sealed_size);
  return std::string(kVersion) + base64url_encode_unpadded(raw);
}

std::optional<std::string> TokenSeal::open(std::string_view sealed,
                                           std::string_view context) const {
  if (!sealed.starts_with(kVersion)) return std::nullopt;
  auto raw = base64url_decode(sealed.substr(kVersion.size()));
  if (!raw || raw->size() < kNonceBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES)
    return std::nullopt;
  std::string plain(raw->size() - kNonceBytes - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long plain_size = 0;
  const auto* box = bytes(*raw);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plain.data()), &plain_size, nullptr, box + kNonceBytes,
          raw->size() - kNonceBytes, bytes(context), context.size(), box, key_.data()) != 0) {
    return std::nullopt;
  }
  plain.resize(plain_size);
  return plain;
}

}  // namespace gpupool::auth
