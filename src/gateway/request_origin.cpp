#include "gateway/request_origin.hpp"

#include <fmt/format.h>

namespace gpupool::gateway {

bool is_safe_method(std::string_view method) {
  return method == "GET" || method == "HEAD";
}

bool origin_matches_host(std::string_view origin, std::string_view host) {
  auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos || host.empty()) return false;
  return origin.substr(scheme_end + 3) == host;
}

bool started_by_another_origin(const HttpExchange& exchange) {
  std::string site = exchange.header("Sec-Fetch-Site");
  if (site.empty() || site == "same-origin" || site == "none") return false;
  bool top_level_navigation = exchange.header("Sec-Fetch-Mode") == "navigate" &&
                              exchange.header("Sec-Fetch-Dest") == "document" &&
                              is_safe_method(exchange.method);
  return !top_level_navigation;
}

bool cookie_write_allowed(const HttpExchange& exchange, bool origin_required) {
  bool upgrade = !exchange.header("Upgrade").empty();
  if (is_safe_method(exchange.method) && !upgrade) return true;
  std::string origin = exchange.header("Origin");
  if (origin.empty()) return !origin_required;
  return origin_matches_host(origin, exchange.header("Host"));
}

std::vector<std::string> expire_at_every_path(std::string_view name, std::string_view path) {
  // Only as far as the path reads plainly (nothing of it may end up as a cookie attribute),
  // and for a bounded number of levels.
  constexpr std::size_t kMaxLevels = 16;
  auto plain =
      path.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-._~");
  path = path.substr(0, plain);
  std::vector<std::string> expired;
  auto expire = [&](std::string_view prefix) {
    expired.push_back(fmt::format("{}=; Path={}; Max-Age=0", name, prefix));
  };
  expire("/");
  for (std::size_t slash = path.find('/', 1); slash != std::string_view::npos;
       slash = path.find('/', slash + 1)) {
    if (expired.size() >= 2 * kMaxLevels) return expired;
    expire(path.substr(0, slash));
    expire(path.substr(0, slash + 1));
  }
  if (path.size() > 1) expire(path);
  return expired;
}

}  // namespace gpupool::gateway
