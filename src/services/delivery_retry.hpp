// When a notification that could not be delivered (by webhook or e-mail) is tried again.
#pragma once

#include <algorithm>

#include "core/clock.hpp"

namespace gpupool::services {

inline constexpr int kMaxDeliveryAttempts = 12;

// After `attempts` failed attempts (1, 2, …): when to try again — 10 s, 20 s, 40 s, … up to an
// hour apart — or 0 to give up, after 12 (about 5 h in all).
inline UnixMillis delivery_retry_at(int attempts, UnixMillis now) {
  constexpr UnixMillis kFirstRetry = 10'000;
  constexpr UnixMillis kLongestRetry = 3'600'000;
  if (attempts >= kMaxDeliveryAttempts) return 0;
  UnixMillis wait = kFirstRetry << std::clamp(attempts - 1, 0, 20);
  return now + std::min(wait, kLongestRetry);
}

}  // namespace gpupool::services
