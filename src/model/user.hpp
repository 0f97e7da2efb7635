// Users, and (through model/image.hpp) the image catalog. Plain data.
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.hpp"
#include "model/image.hpp"

namespace gpupool {

struct User {
  std::int64_t id = 0;
  std::string username;  // canonical: see auth/names.hpp
  bool admin = false;
  int uid = 0;  // Linux uid used inside session containers
  UnixMillis created_at = 0;
  bool disabled = false;  // by an admin: no sign-in, no credential works
};

// Users' uids start here, far from system and typical host users.
inline constexpr int kFirstSessionUid = 20000;

}  // namespace gpupool
