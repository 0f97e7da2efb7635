#include "gateway/cookies.hpp"

#include <algorithm>

namespace gpupool::gateway {

std::vector<CookiePair> split_cookies(std::string_view header) {
  std::vector<CookiePair> pairs;
  while (!header.empty()) {
    auto end = header.find(';');
    auto text = header.substr(0, end);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    if (!text.empty()) {
      auto equals = text.find('=');
      pairs.push_back({text.substr(0, equals),
                       equals == std::string_view::npos ? "" : text.substr(equals + 1), text});
    }
    if (end == std::string_view::npos) break;
    header.remove_prefix(end + 1);
  }
  return pairs;
}

std::string cookie_value(std::string_view header, std::string_view name) {
  for (const auto& pair : split_cookies(header)) {
    if (pair.name == name && pair.text.size() > pair.name.size()) return std::string(pair.value);
  }
  return {};
}

std::vector<std::string> cookie_values(std::string_view header, std::string_view name) {
  std::vector<std::string> values;
  for (const auto& pair : split_cookies(header)) {
    if (pair.name == name && pair.text.size() > pair.name.size()) values.emplace_back(pair.value);
  }
  return values;
}

std::string without_cookies(std::string_view header, const std::vector<std::string>& names) {
  std::string kept;
  for (const auto& pair : split_cookies(header)) {
    if (std::find(names.begin(), names.end(), pair.name) != names.end()) continue;
    if (!kept.empty()) kept += "; ";
    kept += pair.text;
  }
  return kept;
}

}  // namespace gpupool::gateway
