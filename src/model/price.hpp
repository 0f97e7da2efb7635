// Price: what one hour of one whole GPU of a model costs. Plain data.
//
// Money is kept in micro-credits (integers), so that sums of many small charges never drift;
// the API shows credits. A model with no price is free.
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.hpp"

namespace gpupool {

inline constexpr std::int64_t kMicrosPerCredit = 1'000'000;

struct Price {
  std::string gpu_model;  // as the nodes report it, e.g. "A100-80GB"
  std::int64_t micros_per_gpu_hour = 0;
  UnixMillis updated_at = 0;
};

}  // namespace gpupool
