// GpuUseMeter: how much of its GPUs each running session uses, for efficiency reports
// (allocated vs used GPU-hours). At each sync a session's GPUs' utilisation (the busiest of
// them, as model/idle.hpp's SessionActivity carries it) times its billed GPUs is counted for
// the time since its previous reading, at most kMaxGap (a node that went silent counts
// nothing for its silence). What is counted is kept here and written in batches — every
// kFlushEvery per session, and when it stops running — so that no sync pays a commit per
// session; a server that dies loses at most that much. Not thread-safe: SessionService
// calls it under its lock.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/clock.hpp"

namespace gpupool::services {

class GpuUseMeter {
 public:
  static constexpr UnixMillis kMaxGap = 60'000;
  static constexpr UnixMillis kFlushEvery = 5 * 60'000;

  // A running session's reading at `now`: `gpus` billed, its GPUs `utilization_percent` busy
  // (none: no reading, nothing counted).
  void sample(const std::string& session_id, double gpus, std::optional<int> utilization_percent,
              UnixMillis now);
  // GPU-seconds counted and not yet written for the session, when due at `now` (or `ended`:
  // all of it, and the session is forgotten); 0 when nothing is due.
  double take(const std::string& session_id, UnixMillis now, bool ended);

 private:
  struct Running {
    UnixMillis last_sample = 0;
    UnixMillis last_flush = 0;
    double unwritten = 0;  // GPU-seconds
  };
  std::map<std::string, Running> sessions_;
};

}  // namespace gpupool::services
