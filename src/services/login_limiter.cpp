#include "services/login_limiter.hpp"

#include <algorithm>
#include <tuple>

namespace gpupool::services {

namespace {

// Keys cannot collide: user names never contain '\n'.
std::string pair_key(const std::string& user, const std::string& source) {
  return "pair\n" + user + "\n" + source;
}

std::string source_key(const std::string& source) {
  return "source\n" + source;
}

}  // namespace

UnixMillis LoginLimiter::wait_for(const std::string& key, int free_failures, UnixMillis now) const {
  auto found = failures_.find(key);
  if (found == failures_.end() || found->second.count < free_failures) return 0;
  int doublings = std::min(found->second.count - free_failures, 30);
  UnixMillis backoff = std::min(limits_.max_backoff, limits_.first_backoff << doublings);
  UnixMillis until = found->second.last + backoff;
  return until > now ? until - now : 0;
}

UnixMillis LoginLimiter::wait_before_attempt(const std::string& user, const std::string& source,
                                             UnixMillis now) {
  std::lock_guard lock(mutex_);
  return std::max(wait_for(pair_key(user, source), limits_.free_failures_per_pair, now),
                  wait_for(source_key(source), limits_.free_failures_per_source, now));
}

void LoginLimiter::record_failure(const std::string& user, const std::string& source,
                                  UnixMillis now) {
  std::lock_guard lock(mutex_);
  count(pair_key(user, source), now);
  count(source_key(source), now);
}

void LoginLimiter::record_success(const std::string& user, const std::string& source) {
  std::lock_guard lock(mutex_);
  failures_.erase(pair_key(user, source));
}

std::size_t LoginLimiter::tracked() const {
  std::lock_guard lock(mutex_);
  return failures_.size();
}

void LoginLimiter::count(const std::string& key, UnixMillis now) {
  auto found = failures_.find(key);
  if (found != failures_.end() && now - found->second.last > limits_.forget_after) {
    failures_.erase(found);
    found = failures_.end();
  }
  if (found == failures_.end()) {
    make_room(now);
    found = failures_.emplace(key, Failures{}).first;
  }
  ++found->second.count;
  found->second.last = now;
}

void LoginLimiter::make_room(UnixMillis now) {
  if (failures_.size() < limits_.max_entries) return;
  std::erase_if(failures_,
                [&](const auto& entry) { return now - entry.second.last > limits_.forget_after; });
  if (failures_.size() < limits_.max_entries) return;
  // Still full of live entries: the one that counts least (fewest failures, then the oldest)
  // goes, and only it; a flood of single failures never pushes out a count that holds
  // someone back.
  auto least =
      std::min_element(failures_.begin(), failures_.end(), [](const auto& a, const auto& b) {
        return std::tie(a.second.count, a.second.last) < std::tie(b.second.count, b.second.last);
      });
  failures_.erase(least);
}

}  // namespace gpupool::services
