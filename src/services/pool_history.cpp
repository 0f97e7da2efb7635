#include "services/pool_history.hpp"

#include <algorithm>

namespace gpupool::services {

namespace {

constexpr UnixMillis kDay = 24LL * 3600 * 1000;
constexpr double kMillisPerHour = 3'600'000.0;

}  // namespace

PoolSample sample_pool(const std::vector<Node>& nodes, const std::vector<bool>& live,
                       const std::vector<Session>& sessions,
                       const std::map<std::string, NodeReadings>& readings, UnixMillis fresh_since,
                       UnixMillis now) {
  PoolSample sample;
  sample.at = now;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (i >= live.size() || !live[i]) continue;
    sample.gpus += static_cast<double>(nodes[i].gpus.size());
    auto found = readings.find(nodes[i].name);
    if (found == readings.end() || found->second.read_at < fresh_since) continue;
    for (const auto& gpu : found->second.gpus)
      if (gpu.utilization_percent)
        sample.busy += std::clamp(*gpu.utilization_percent, 0, 100) / 100.0;
  }
  for (const auto& session : sessions)
    if (session.state == SessionState::running) sample.allocated += session.billed_gpus;
  return sample;
}

Result<PoolSample> current_pool_sample(SessionService& sessions, const TelemetryBoard& telemetry,
                                       UnixMillis now) {
  constexpr UnixMillis kFreshReadings = 2 * 60'000;
  auto pool = sessions.pool();
  if (!pool) return pool.error();
  auto active = sessions.active_sessions();
  if (!active) return active.error();
  return sample_pool(pool->nodes, pool->node_live, *active, telemetry.snapshot(),
                     now - kFreshReadings, now);
}

Status record_pool_sample(SessionService& sessions, const TelemetryBoard& telemetry, Store& store,
                          UnixMillis now) {
  if (!store.leads()) return {};  // one sample a minute, from the leading server
  auto sample = current_pool_sample(sessions, telemetry, now);
  if (!sample) return sample.error();
  return store.add_pool_sample(*sample, now - kPoolHistoryKept);
}

std::vector<PoolSample> average_samples(const std::vector<PoolSample>& samples, UnixMillis step) {
  std::vector<PoolSample> averaged;
  std::size_t count = 0;
  auto finish = [&averaged, &count] {
    if (count == 0) return;
    auto& last = averaged.back();
    last.gpus /= static_cast<double>(count);
    last.allocated /= static_cast<double>(count);
    last.busy /= static_cast<double>(count);
    count = 0;
  };
  for (const auto& sample : samples) {
    UnixMillis window = sample.at - sample.at % step;
    if (averaged.empty() || averaged.back().at != window) {
      finish();
      averaged.push_back({window, 0, 0, 0});
    }
    auto& current = averaged.back();
    current.gpus += sample.gpus;
    current.allocated += sample.allocated;
    current.busy += sample.busy;
    ++count;
  }
  finish();
  return averaged;
}

std::vector<DayUsage> daily_usage(const std::vector<Session>& sessions, int days, UnixMillis now) {
  UnixMillis today = now - now % kDay;
  std::vector<DayUsage> list;
  for (int i = days - 1; i >= 0; --i) list.push_back({today - i * kDay, 0, 0});
  for (const auto& session : sessions) {
    if (session.started_at == 0) continue;
    UnixMillis end = session.ended_at != 0 ? session.ended_at : now;
    for (auto& day : list) {
      UnixMillis inside = std::min(end, day.day + kDay) - std::max(session.started_at, day.day);
      if (inside <= 0) continue;
      day.gpu_hours += session.billed_gpus * static_cast<double>(inside) / kMillisPerHour;
      day.spend_micros +=
          static_cast<std::int64_t>(static_cast<double>(session.rate_micros_per_hour) *
                                    static_cast<double>(inside) / kMillisPerHour);
    }
  }
  return list;
}

}  // namespace gpupool::services
