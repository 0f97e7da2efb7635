// LoginLimiter: slows password guessing without letting anyone lock a user out.
//
// Failures are counted per (user, source address) and per source address, never per user
// alone: wrong passwords from one place never refuse the right password from another. Past a
// few free failures each further one doubles the wait before the next attempt from there
// (1 s, 2 s, 4 s … up to 15 minutes). A success clears only its own (user, source) count, so
// a valid account of one's own cannot reset a source's count. Memory is bounded: when full,
// stale entries go first, then the one with the fewest failures — never all at once, so
// flooding cannot reset the counts that hold someone back. Pure (the caller passes the time)
// and thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "core/clock.hpp"

namespace gpupool::services {

struct LoginLimits {
  int free_failures_per_pair = 5;     // (user, source)
  int free_failures_per_source = 30;  // every user from one address
  UnixMillis first_backoff = 1000;
  UnixMillis max_backoff = 15 * 60 * 1000;
  UnixMillis forget_after = 60 * 60 * 1000;  // an hour without failures clears an entry
  std::size_t max_entries = 100'000;
};

class LoginLimiter {
 public:
  explicit LoginLimiter(LoginLimits limits = {}) : limits_(limits) {}

  // 0 when an attempt may go ahead now; otherwise how long until it may.
  UnixMillis wait_before_attempt(const std::string& user, const std::string& source,
                                 UnixMillis now);
  void record_failure(const std::string& user, const std::string& source, UnixMillis now);
  void record_success(const std::string& user, const std::string& source);

  std::size_t tracked() const;

 private:
  struct Failures {
    int count = 0;
    UnixMillis last = 0;
  };
  UnixMillis wait_for(const std::string& key, int free_failures, UnixMillis now) const;
  void count(const std::string& key, UnixMillis now);
  void make_room(UnixMillis now);

  const LoginLimits limits_;
  mutable std::mutex mutex_;
  std::map<std::string, Failures> failures_;  // guarded by mutex_
};

}  // namespace gpupool::services
