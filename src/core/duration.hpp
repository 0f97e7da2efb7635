// Durations as people write them in options: "90s", "15m", "2h", "1d", or "0".
#pragma once

#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace gpupool {

// A whole number with one unit (s, m, h or d), or a bare "0"; up to a year. The error says
// what is expected.
Result<UnixMillis> parse_duration(std::string_view text);

}  // namespace gpupool
