#include "agent/shared_homes.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace gpupool::agent {
namespace {

Error io_error(const std::string& what) {
  return {ErrorCode::internal, fmt::format("{}: {}", what, std::strerror(errno))};
}

// Closes the descriptor when it goes out of scope.
struct Descriptor {
  int fd = -1;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Status check_home_root(const std::string& root) {
  if (root.empty() || root.front() != '/') {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("--home-root \"{}\": expected an absolute path", root));
  }
  struct stat info {};
  if (::stat(root.c_str(), &info) != 0) return io_error("--home-root " + root);
  if (!S_ISDIR(info.st_mode)) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("--home-root {}: not a directory", root));
  }
  if (info.st_uid != 0 || (info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("--home-root {}: must be owned by root and writable by root "
                                  "only (owner {}, mode {:o})",
                                  root, info.st_uid, info.st_mode & 07777));
  }
  return {};
}

Status ensure_shared_home(const std::string& root, const std::string& username, int uid, int gid) {
  // Names are checked where users are made; this keeps a bad one from escaping the root.
  if (username.empty() || username.front() == '.' || username.find('/') != std::string::npos) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("\"{}\" cannot name a home directory", username));
  }
  Descriptor parent{::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (parent.fd < 0) return io_error("home root " + root);
  const std::string path = root + "/" + username;
  if (::mkdirat(parent.fd, username.c_str(), 0700) == 0) {
    if (::fchownat(parent.fd, username.c_str(), uid, gid > 0 ? gid : uid, AT_SYMLINK_NOFOLLOW) !=
        0) {
      return io_error("giving " + path + " to its user");
    }
    return {};
  }
  if (errno != EEXIST) return io_error("making " + path);
  struct stat info {};
  if (::fstatat(parent.fd, username.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
    return io_error(path);
  }
  if (!S_ISDIR(info.st_mode)) {
    return make_error(
        ErrorCode::conflict,
        fmt::format("{} is not a directory (a link or a file is in its place)", path));
  }
  return {};
}

}  // namespace gpupool::agent
