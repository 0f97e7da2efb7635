// Base64 as registries and the Docker Engine API speak it (libsodium underneath).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gpupool {

// Standard alphabet, padded: HTTP Basic credentials, docker config.json's "auth".
std::string base64_encode(std::string_view bytes);
// URL-safe alphabet, padded: the engine's X-Registry-Auth header.
std::string base64url_encode(std::string_view bytes);
// URL-safe alphabet, unpadded: JSON Web Tokens and PKCE (RFC 7515, RFC 7636).
std::string base64url_encode_unpadded(std::string_view bytes);
// Standard alphabet, padding optional; nullopt when it is not base64.
std::optional<std::string> base64_decode(std::string_view text);
// URL-safe alphabet, padding optional; nullopt when it is not base64url.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace gpupool
