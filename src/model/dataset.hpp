// Dataset: a directory every node has (an NFS or CephFS mount, the same path on each), which
// an admin lends read-only to the members of some groups. Sessions of those users see it at
// /datasets/<name>. Plain data and its checks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace gpupool {

inline constexpr std::string_view kDatasetsMountRoot = "/datasets";

struct Dataset {
  std::string name;                 // mounted at /datasets/<name>
  std::string host_path;            // the directory on every node
  std::vector<std::string> groups;  // by name; their members' sessions get it
  UnixMillis created_at = 0;
};

// 1-63 lower-case letters, digits, '.', '-' and '_', starting with a letter or digit.
Status check_dataset_name(std::string_view name);
// Absolute and plain ("/srv/datasets/imagenet": no "..", ".", "//" or trailing "/"), and not
// the root or a system directory (/etc, /proc, /var/lib/docker, …) nor anything under one: a
// typo must not lend the host's secrets to every session of a group.
Status check_dataset_path(std::string_view path);

}  // namespace gpupool
