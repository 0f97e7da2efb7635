#include "core/clock.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>

namespace gpupool {

UnixMillis SystemClock::now() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t SystemClock::monotonic_millis() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string format_rfc3339(UnixMillis time) {
  std::time_t seconds = static_cast<std::time_t>(time / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                     static_cast<int>(time % 1000));
}

Result<UnixMillis> parse_rfc3339(std::string_view text) {
  auto refuse = [&] {
    return make_error(ErrorCode::invalid_argument,
                      "expected a UTC time like 2026-12-02T18:54:43Z, got \"" +
                          std::string(text.substr(0, 40)) + "\"");
  };
  if (text.size() < 20 || text.size() > 30 || text.back() != 'Z') return refuse();
  std::tm utc{};
  int consumed = 0;
  std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &utc.tm_year, &utc.tm_mon,
                  &utc.tm_mday, &utc.tm_hour, &utc.tm_min, &utc.tm_sec, &consumed) != 6 ||
      consumed != 19)
    return refuse();
  int millis = 0;
  std::string_view rest = text.substr(19, text.size() - 20);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2 || rest.size() > 10) return refuse();
    for (std::size_t i = 1; i < rest.size(); ++i) {
      if (rest[i] < '0' || rest[i] > '9') return refuse();
      if (i <= 3) millis += (rest[i] - '0') * (i == 1 ? 100 : i == 2 ? 10 : 1);
    }
  }
  if (utc.tm_mon < 1 || utc.tm_mon > 12 || utc.tm_mday < 1 || utc.tm_mday > 31 ||
      utc.tm_hour > 23 || utc.tm_min > 59 || utc.tm_sec > 60)
    return refuse();
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  return static_cast<UnixMillis>(timegm(&utc)) * 1000 + millis;
}

}  // namespace gpupool
