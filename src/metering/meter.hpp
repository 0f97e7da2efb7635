// The meter: what a session costs, from its rate and the time it ran. Pure functions.
//
// A session's rate is fixed when it is placed: the price of its GPUs' model times the GPUs
// it holds (whole GPUs, or a share's fraction of its GPU's memory); without a GPU, the CPU
// price times its CPUs. It pays for each whole
// second it is running — not while queued or starting, nor while its container is down and
// being started again — so its cost can always be recomputed from its start, end and down
// times.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "model/price.hpp"
#include "model/session.hpp"

namespace gpupool::metering {

// The price sessions without a GPU pay, per CPU they reserve and hour (PUT /api/v1/prices/CPU):
// their billed model is "CPU", with no GPU-hours.
inline constexpr const char* kCpuPriceModel = "CPU";

// GPUs a request is billed for on a GPU of `gpu_memory_mb`.
double billed_gpus(const SessionRequest& request, std::int64_t gpu_memory_mb);

// The model's price (0 when it has none) times the GPUs, in micro-credits per hour.
std::int64_t hourly_rate_micros(const std::vector<Price>& prices, const std::string& gpu_model,
                                double gpus);

// How long its container has been down by `now` (to its end once ended): not billed.
std::int64_t down_millis(const Session& session, UnixMillis now);

// Whole seconds the session has been running by `now` (to its end once ended), less the time
// its container was down.
std::int64_t billed_seconds(const Session& session, UnixMillis now);

// What the session has cost by `now`, in micro-credits (rounded down to the micro-credit).
std::int64_t cost_micros(const Session& session, UnixMillis now);

// GPU-hours and cost per GPU model over some sessions.
struct ModelUsage {
  std::string gpu_model;
  double gpu_hours = 0;
  std::int64_t cost_micros = 0;
};
std::vector<ModelUsage> usage_by_model(const std::vector<Session>& sessions, UnixMillis now);

}  // namespace gpupool::metering
