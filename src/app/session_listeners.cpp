#include "app/session_listeners.hpp"

#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "core/log.hpp"

namespace gpupool::app {

namespace {

constexpr int kMaxSessionPorts = 4096;

std::optional<int> read_number(std::string_view text) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

Error bad_spec(const std::string& spec) {
  return make_error(ErrorCode::invalid_argument,
                    fmt::format("--session-ports \"{}\": expected LOW-HIGH within 1024-65535 or a "
                                "count of ports (1-{}) for the system to pick",
                                spec, kMaxSessionPorts));
}

}  // namespace

Result<std::vector<std::uint16_t>> listen_for_sessions(gateway::HttpServer& http,
                                                       const std::string& host,
                                                       const std::string& spec) {
  std::vector<std::uint16_t> bound;
  auto dash = spec.find('-');
  if (dash == std::string::npos) {
    auto count = read_number(spec);
    if (!count || *count < 1 || *count > kMaxSessionPorts) return bad_spec(spec);
    for (int i = 0; i < *count; ++i) {
      auto port = http.listen(host, 0);
      if (!port) return port.error();
      bound.push_back(*port);
    }
    return bound;
  }
  auto low = read_number(std::string_view(spec).substr(0, dash));
  auto high = read_number(std::string_view(spec).substr(dash + 1));
  if (!low || !high || *low < 1024 || *high > 65535 || *high < *low ||
      *high - *low >= kMaxSessionPorts) {
    return bad_spec(spec);
  }
  for (int port = *low; port <= *high; ++port) {
    auto listening = http.listen(host, static_cast<std::uint16_t>(port));
    if (listening) {
      bound.push_back(*listening);
    } else {
      spdlog::warn("session port {} skipped: {}", port, listening.error().message);
    }
  }
  if (bound.empty()) {
    return make_error(ErrorCode::unavailable,
                      fmt::format("--session-ports {}: no port of the range is free", spec));
  }
  return bound;
}

}  // namespace gpupool::app
