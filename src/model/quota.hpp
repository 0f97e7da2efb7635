// Groups and quotas. Plain data.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace gpupool {

struct Group {
  std::int64_t id = 0;
  std::string name;  // same rules as user names
  // Its members come from the directory (LDAP, OpenID Connect): each directory user's
  // membership follows their directory groups at every sign-in and check.
  bool from_directory = false;
};

enum class QuotaScope { user, group };

// Limits on what a user, or all members of a group together, may hold at once. Absent
// limits do not apply.
struct Quota {
  QuotaScope scope = QuotaScope::user;
  std::int64_t subject_id = 0;
  std::string subject_name;                       // for messages: the user or group name
  std::optional<int> max_gpus;                    // whole GPUs in sessions not yet ended
  std::optional<int> max_sessions;                // sessions not yet ended
  std::optional<std::int64_t> max_gpu_memory_mb;  // GPU memory of shares not yet ended
  std::optional<double> max_session_hours;        // longest a session may run
  // Whole GPUs of one model in sessions not yet ended (shares count under GPU memory).
  std::map<std::string, int> max_gpus_by_model;
};

}  // namespace gpupool
