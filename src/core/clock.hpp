// Clock: the only way gpupool code reads the time, so tests can run on simulated time.
//
// Times are milliseconds since the Unix epoch (UTC). SystemClock is thread-safe;
// ManualClock is for tests and is thread-safe too.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace gpupool {

using UnixMillis = std::int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixMillis now() const = 0;
};

class SystemClock final : public Clock {
 public:
  UnixMillis now() const override;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(UnixMillis start) : now_(start) {}
  UnixMillis now() const override { return now_.load(); }
  void advance(UnixMillis millis) { now_ += millis; }

 private:
  std::atomic<UnixMillis> now_;
};

// RFC 3339 in UTC with millisecond precision, e.g. "2026-11-27T12:00:00.123Z".
std::string format_rfc3339(UnixMillis time);

}  // namespace gpupool
