// Canonical user names.
//
// A user name is ASCII lower-case letters, digits and single inner hyphens, starting with a
// letter, at most 32 characters: it is used verbatim in Linux user entries, volume and
// container names, so it must be DNS-safe and one-to-one. Input is lower-cased before the
// check; anything outside ASCII (look-alikes) is refused rather than folded.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gpupool::auth {

inline constexpr std::size_t kMaxUsernameLength = 32;

Result<std::string> canonical_username(std::string_view input);

// Names a session's Linux system has already (root, sshd, nobody, system users and groups)
// or that would pass for an operator's are refused for new accounts: the user becomes a Linux
// user of that name in every session.
Status check_not_reserved(const std::string& canonical_name);

}  // namespace gpupool::auth
