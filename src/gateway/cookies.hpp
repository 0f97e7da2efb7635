#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gpupool::gateway {

// One `name=value` pair of a Cookie header.
struct CookiePair {
  std::string_view name;
  std::string_view value;
  std::string_view text;  // "name=value" as sent
};

// The pairs of a Cookie header ("a=1; b=2"), in order; empty pieces are skipped.
std::vector<CookiePair> split_cookies(std::string_view header);

// The value of cookie `name`, or "" when the header has none.
std::string cookie_value(std::string_view header, std::string_view name);

// Every value of cookie `name`, in the order sent (a browser sends one per path it holds
// one at, so a page of another origin on this host may have added its own).
std::vector<std::string> cookie_values(std::string_view header, std::string_view name);

// The Cookie header without the named cookies.
std::string without_cookies(std::string_view header, const std::vector<std::string>& names);

inline constexpr const char* kSessionCookie = "gpupool_session";

}  // namespace gpupool::gateway
