// Clock: the only way gpupool code reads the time, so tests can run on simulated time.
//
// Times are milliseconds since the Unix epoch (UTC). Deadlines and timeouts use
// monotonic_millis(), which never jumps when the wall clock is set. SystemClock is
// thread-safe; ManualClock is for tests and is thread-safe too.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gpupool {

using UnixMillis = std::int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixMillis now() const = 0;
  // Milliseconds since an arbitrary start that only moves forward, for measuring intervals.
  virtual std::int64_t monotonic_millis() const = 0;
};

class SystemClock final : public Clock {
 public:
  UnixMillis now() const override;
  std::int64_t monotonic_millis() const override;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(UnixMillis start) : now_(start) {}
  UnixMillis now() const override { return now_.load(); }
  // Moves with advance(), as a steady clock moves with time; never 0 (callers use 0 for
  // "not yet") as long as the start is not.
  std::int64_t monotonic_millis() const override { return now_.load(); }
  void advance(UnixMillis millis) { now_ += millis; }

 private:
  std::atomic<UnixMillis> now_;
};

// RFC 3339 in UTC with millisecond precision, e.g. "2026-11-27T12:00:00.123Z".
std::string format_rfc3339(UnixMillis time);
// "2026-12-02T18:54:43Z", with optional fractional seconds; UTC ("Z") only.
Result<UnixMillis> parse_rfc3339(std::string_view text);

}  // namespace gpupool
