// Validation of OpenSSH public keys ("ssh-ed25519 AAAA… comment").
//
// Only plain keys are accepted: no authorized_keys options, a known algorithm, a body that
// decodes as base64 and names the same algorithm inside, and a printable comment. The result
// is the normalized single line that goes into authorized_keys. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gpupool::auth {

inline constexpr std::size_t kMaxSshKeyLength = 8192;
inline constexpr std::size_t kMaxSshKeysPerUser = 32;

Result<std::string> normalize_ssh_public_key(std::string_view line);

// "SHA256:…" fingerprint of a normalized key, as ssh-keygen -lf prints it.
std::string ssh_key_fingerprint(std::string_view normalized_key);

}  // namespace gpupool::auth
