// Homes on a shared filesystem (`--home-root`, an NFS, CephFS or Lustre mount that every GPU
// server has at the same path): a user's home is <root>/<username> on every node, bind-mounted
// into their sessions, so a file written on one node is there on the next. Without a root,
// homes are the engine's named volumes on each node.
#pragma once

#include <string>

#include "core/result.hpp"

namespace gpupool::agent {

// The root must be an existing directory that only root may write to: if anyone else could,
// they could plant a user's home (or a symlink in its place) before the agent makes it.
Status check_home_root(const std::string& root);

// <root>/<username>, made on first use as a directory of mode 0700 owned by uid:gid (gid 0:
// the same as uid). An
// existing directory is kept as it is; anything else in its place (a symlink, a file) is
// refused, never followed. Safe against a user racing it: it never follows a link under root.
Status ensure_shared_home(const std::string& root, const std::string& username, int uid,
                          int gid = 0);

}  // namespace gpupool::agent
