// Turns the body of POST /api/v1/sessions into a validated SessionRequest. Pure.
//
// Defaults: 1 GPU, 1 CPU, 4 GB. Ranges: gpus 1–64, cpus 0.1–256, memory_gb 0.25–4096, max_hours
// 0.01–8760; unknown fields are refused so that a typo ("gpu": 2) is not silently ignored.
#pragma once

#include "core/json_input.hpp"
#include "model/session.hpp"

namespace gpupool::api {

inline constexpr int kMaxGpusPerSession = 64;
inline constexpr double kDefaultCpus = 1;
inline constexpr double kDefaultMemoryGb = 4;

Result<SessionRequest> parse_session_request(const Json& body);

}  // namespace gpupool::api
