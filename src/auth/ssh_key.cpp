#include "auth/ssh_key.hpp"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

namespace gpupool::auth {

namespace {

constexpr std::array<std::string_view, 8> kAlgorithms{
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
};

Error invalid(const std::string& why) {
  return make_error(ErrorCode::invalid_argument, "invalid SSH public key: " + why);
}

std::vector<unsigned char> decode_base64(std::string_view text, bool& ok) {
  ok = false;
  if (text.empty()) return {};  // sodium takes no null buffer, which an empty vector has
  std::vector<unsigned char> bytes(text.size());
  std::size_t length = 0;
  ok = sodium_base642bin(bytes.data(), bytes.size(), text.data(), text.size(), nullptr, &length,
                         nullptr, sodium_base64_VARIANT_ORIGINAL) == 0;
  bytes.resize(length);
  return bytes;
}

}  // namespace

Result<std::string> normalize_ssh_public_key(std::string_view line) {
  if (line.size() > kMaxSshKeyLength) return invalid("longer than 8192 characters");
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) {
    line.remove_suffix(1);
  }
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  for (char c : line) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return invalid("contains control characters or line breaks");
  }
  auto first_space = line.find(' ');
  if (first_space == std::string_view::npos)
    return invalid("expected \"<type> <base64> [comment]\"");
  std::string_view algorithm = line.substr(0, first_space);
  bool known = false;
  for (auto candidate : kAlgorithms) known = known || candidate == algorithm;
  if (!known) return invalid("unknown key type (options before the key are not accepted)");

  std::string_view rest = line.substr(first_space + 1);
  auto second_space = rest.find(' ');
  std::string_view body = rest.substr(0, second_space);
  std::string_view comment =
      second_space == std::string_view::npos ? "" : rest.substr(second_space + 1);

  bool decoded = false;
  auto blob = decode_base64(body, decoded);
  if (!decoded || blob.size() < 4) return invalid("key body is not base64");
  std::uint32_t name_length = (std::uint32_t{blob[0]} << 24) | (std::uint32_t{blob[1]} << 16) |
                              (std::uint32_t{blob[2]} << 8) | std::uint32_t{blob[3]};
  if (name_length != algorithm.size() || blob.size() < 4 + name_length ||
      std::string_view(reinterpret_cast<const char*>(blob.data()) + 4, name_length) != algorithm) {
    return invalid("key body does not match its type");
  }
  if (blob.size() < 4 + name_length + 16) return invalid("key body is truncated");

  std::string normalized = fmt::format("{} {}", algorithm, body);
  if (!comment.empty()) normalized += fmt::format(" {}", comment);
  return normalized;
}

std::string ssh_key_fingerprint(std::string_view normalized_key) {
  auto start = normalized_key.find(' ') + 1;
  auto end = normalized_key.find(' ', start);
  bool decoded = false;
  auto blob = decode_base64(normalized_key.substr(start, end - start), decoded);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, blob.data(), blob.size());
  const auto variant = sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
  std::string text(sodium_base64_ENCODED_LEN(sizeof digest, variant), '\0');
  sodium_bin2base64(text.data(), text.size(), digest, sizeof digest, variant);
  text.resize(text.find('\0'));
  return "SHA256:" + text;
}

}  // namespace gpupool::auth
