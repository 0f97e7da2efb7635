#include "core/duration.hpp"

#include <charconv>

#include <fmt/format.h>

namespace gpupool {

Result<UnixMillis> parse_duration(std::string_view text) {
  auto bad = [&] {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("\"{}\" is not a duration: expected e.g. 90s, 15m, 2h or 1d",
                                  text.substr(0, 32)));
  };
  if (text == "0") return UnixMillis{0};
  if (text.size() < 2) return bad();
  UnixMillis unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1000;
      break;
    case 'm':
      unit = 60'000;
      break;
    case 'h':
      unit = 3'600'000;
      break;
    case 'd':
      unit = 86'400'000;
      break;
    default:
      return bad();
  }
  std::int64_t count = 0;
  auto digits = text.substr(0, text.size() - 1);
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (error != std::errc() || end != digits.data() + digits.size() || count < 0) return bad();
  if (count > 366LL * 86'400'000 / unit) return bad();
  return count * unit;
}

}  // namespace gpupool
