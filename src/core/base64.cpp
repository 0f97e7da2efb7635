#include "core/base64.hpp"

#include <sodium.h>

namespace gpupool {
namespace {

std::string encode(std::string_view bytes, int variant) {
  std::string text(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
  sodium_bin2base64(text.data(), text.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  text.pop_back();  // libsodium's terminating NUL
  return text;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  return encode(bytes, sodium_base64_VARIANT_ORIGINAL);
}

std::string base64url_encode(std::string_view bytes) {
  return encode(bytes, sodium_base64_VARIANT_URLSAFE);
}

std::string base64url_encode_unpadded(std::string_view bytes) {
  return encode(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

namespace {

std::optional<std::string> decode(std::string_view text, int unpadded_variant) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string bytes(text.size() * 3 / 4 + 3, '\0');
  std::size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), text.data(),
                        text.size(), nullptr, &length, nullptr, unpadded_variant) != 0)
    return std::nullopt;
  bytes.resize(length);
  return bytes;
}

}  // namespace

std::optional<std::string> base64_decode(std::string_view text) {
  return decode(text, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
}

std::optional<std::string> base64url_decode(std::string_view text) {
  return decode(text, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

}  // namespace gpupool
