// The pool over time, for the portal's charts: a sample a minute of its GPUs, how many
// sessions hold and how busy they are (model/pool_sample.hpp), stored for kPoolHistoryKept;
// and the series the charts draw — the pool's over a day or a week, a user's GPU-hours and
// spend per day (from their sessions, exact rather than sampled).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "model/node.hpp"
#include "model/pool_sample.hpp"
#include "model/session.hpp"
#include "services/session_service.hpp"
#include "services/telemetry_board.hpp"
#include "store/store.hpp"

namespace gpupool::services {

inline constexpr UnixMillis kPoolHistoryKept = 8LL * 24 * 3600 * 1000;

// The pool now: GPUs of the `live` nodes, what running `sessions` hold, and how busy the GPUs
// whose readings arrived at `fresh_since` or later are.
PoolSample sample_pool(const std::vector<Node>& nodes, const std::vector<bool>& live,
                       const std::vector<Session>& sessions,
                       const std::map<std::string, NodeReadings>& readings, UnixMillis fresh_since,
                       UnixMillis now);

// The pool now, as sample_pool counts it.
Result<PoolSample> current_pool_sample(SessionService& sessions, const TelemetryBoard& telemetry,
                                       UnixMillis now);
// Stores a sample of the pool now and drops those older than kPoolHistoryKept.
Status record_pool_sample(SessionService& sessions, const TelemetryBoard& telemetry, Store& store,
                          UnixMillis now);

// `samples` averaged over consecutive `step` windows (empty windows are left out), so that a
// week draws as ~1000 points.
std::vector<PoolSample> average_samples(const std::vector<PoolSample>& samples, UnixMillis step);

struct DayUsage {
  UnixMillis day = 0;  // its start (UTC)
  double gpu_hours = 0;
  std::int64_t spend_micros = 0;
};
// GPU-hours and spend of `sessions` in each of `days` UTC days ending with today's, by their
// running time inside each day (running ones up to `now`).
std::vector<DayUsage> daily_usage(const std::vector<Session>& sessions, int days, UnixMillis now);

}  // namespace gpupool::services
