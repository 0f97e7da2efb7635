// User and Image catalog entries. Plain data.
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.hpp"

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

struct Image {
  std::string tag;        // semantic tag users name, e.g. "pytorch1.13-cpu-debian12-runtime"
  std::string reference;  // what the engine runs, e.g. "gpupool/session:pytorch1.13-…"
  std::string framework;
  std::string framework_version;
  std::string cuda;  // "" for CPU-only images
  std::string cudnn;
  std::string flavor;
  bool is_default = false;
  std::string status;  // "available" once the local engine has it, else "missing"
};

}  // namespace gpupool
