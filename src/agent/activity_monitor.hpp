// ActivityMonitor: measures the running sessions of a node every `interval` on its own thread,
// so that a slow Jupyter or engine never holds up a sync, and keeps each session's latest
// SessionActivity (model/idle.hpp) for the agent's next report. The CPU figure is a rate:
// the first measurement of a session has none, each later one the cores used since the one
// before. GPU utilisation is not its business: the agent adds it from the probe's readings.
// Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/activity_sensor.hpp"
#include "core/clock.hpp"
#include "core/periodic_task.hpp"
#include "model/idle.hpp"

namespace gpupool::agent {

class ActivityMonitor {
 public:
  // `sensor` and `clock` must outlive the monitor.
  ActivityMonitor(ActivitySensor& sensor, const Clock& clock, std::chrono::milliseconds interval)
      : sensor_(sensor), clock_(clock), task_(interval, [this] { measure_once(); }) {}
  ActivityMonitor(const ActivityMonitor&) = delete;
  ActivityMonitor& operator=(const ActivityMonitor&) = delete;

  void start() { task_.start(); }
  void stop() { task_.stop(); }
  // The sessions to measure from now on; what it knew of others is dropped.
  void watch(std::vector<WatchedSession> sessions);
  // The session's latest measurement, its Jupyter quiet time counted to now; empty before one.
  std::optional<SessionActivity> latest(const std::string& session_id) const;
  // Measures every watched session once; public so tests can drive it step by step.
  void measure_once();

 private:
  struct Measured {
    ActivitySample sample;
    std::int64_t at_monotonic = 0;
    std::optional<double> cpu_cores;
  };

  ActivitySensor& sensor_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::vector<WatchedSession> watched_;       // guarded by mutex_
  std::map<std::string, Measured> measured_;  // by session; guarded by mutex_
  PeriodicTask task_;                         // last: it runs measure_once()
};

}  // namespace gpupool::agent
