#include "metering/meter.hpp"

#include <algorithm>
#include <cmath>
#include <map>

namespace gpupool::metering {

double billed_gpus(const SessionRequest& request, std::int64_t gpu_memory_mb) {
  if (request.gpu_memory_mb <= 0) return request.gpus;
  if (gpu_memory_mb <= 0) return 1;
  return std::min(1.0, static_cast<double>(request.gpu_memory_mb) / gpu_memory_mb);
}

std::int64_t hourly_rate_micros(const std::vector<Price>& prices, const std::string& gpu_model,
                                double gpus) {
  for (const auto& price : prices) {
    if (price.gpu_model == gpu_model)
      return std::llround(static_cast<double>(price.micros_per_gpu_hour) * gpus);
  }
  return 0;
}

std::int64_t down_millis(const Session& session, UnixMillis now) {
  if (session.down_since == 0) return session.down_millis;
  UnixMillis end = session.ended_at != 0 ? session.ended_at : now;
  return session.down_millis + std::max<UnixMillis>(0, end - session.down_since);
}

std::int64_t billed_seconds(const Session& session, UnixMillis now) {
  if (session.started_at == 0) return 0;
  UnixMillis end = session.ended_at != 0 ? session.ended_at : now;
  return std::max<UnixMillis>(0, end - session.started_at - down_millis(session, now)) / 1000;
}

std::int64_t cost_micros(const Session& session, UnixMillis now) {
  // rate × seconds can pass 2^63 for long, costly sessions before the division.
  __int128 product =
      static_cast<__int128>(session.rate_micros_per_hour) * billed_seconds(session, now);
  return static_cast<std::int64_t>(product / 3600);
}

std::vector<ModelUsage> usage_by_model(const std::vector<Session>& sessions, UnixMillis now) {
  std::map<std::string, ModelUsage> by_model;
  for (const auto& session : sessions) {
    if (session.billed_gpu_model.empty() || session.started_at == 0) continue;
    auto& usage = by_model[session.billed_gpu_model];
    usage.gpu_model = session.billed_gpu_model;
    usage.gpu_hours += session.billed_gpus * billed_seconds(session, now) / 3600.0;
    usage.cost_micros += cost_micros(session, now);
  }
  std::vector<ModelUsage> list;
  for (auto& [model, usage] : by_model) list.push_back(usage);
  return list;
}

}  // namespace gpupool::metering
