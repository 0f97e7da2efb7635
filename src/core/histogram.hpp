// Histogram: a Prometheus histogram with fixed buckets (durations in seconds, say), for the
// latencies and waits /metrics shows. observe() takes no lock; thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gpupool {

// For request and sync latencies: 1 ms to 10 s.
inline const std::vector<double> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                    0.25,  0.5,    1,     2.5,  5,     10};
// For how long requests wait in the queue: a second to a day.
inline const std::vector<double> kWaitBuckets = {1,   5,    15,   30,   60,    120,   300,
                                                 600, 1800, 3600, 7200, 14400, 43200, 86400};

class Histogram {
 public:
  // `upper_bounds` ascending; a last bucket, +Inf, is added.
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // The family in the text format: HELP, TYPE, cumulative buckets, sum and count.
  std::string exposition(std::string_view name, std::string_view help) const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, not cumulative
  std::atomic<double> sum_{0};
};

// Observes into `histogram`, when it goes out of scope, the seconds since it was made.
class ScopedTimer {
 public:
  explicit ScopedTimer(Histogram& histogram)
      : histogram_(histogram), start_(std::chrono::steady_clock::now()) {}
  ~ScopedTimer() {
    histogram_.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  Histogram& histogram_;
  const std::chrono::steady_clock::time_point start_;
};

}  // namespace gpupool
