#include "auth/names.hpp"

namespace gpupool::auth {

Result<std::string> canonical_username(std::string_view input) {
  auto refuse = [] {
    return make_error(ErrorCode::invalid_argument,
                      "username must be 1-32 characters: a-z, 0-9 and single hyphens, "
                      "starting with a letter and not ending with a hyphen");
  };
  if (input.empty() || input.size() > kMaxUsernameLength) return refuse();
  std::string name;
  for (char c : input) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!allowed) return refuse();
    if (c == '-' && !name.empty() && name.back() == '-') return refuse();
    name += c;
  }
  if (!(name.front() >= 'a' && name.front() <= 'z') || name.back() == '-') return refuse();
  return name;
}

}  // namespace gpupool::auth
