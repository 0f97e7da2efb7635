#include "api/route_pattern.hpp"

namespace gpupool::api {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  if (path.starts_with('/')) path.remove_prefix(1);
  if (path.empty()) return parts;
  for (std::size_t start = 0;;) {
    auto end = path.find('/', start);
    parts.push_back(path.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::optional<PathParameters> match_route_pattern(std::string_view pattern,
                                                  const std::vector<std::string>& segments) {
  return match_route_pattern(split_path(pattern), segments);
}

std::optional<PathParameters> match_route_pattern(const std::vector<std::string_view>& parts,
                                                  const std::vector<std::string>& segments) {
  PathParameters parameters;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    bool parameter = part.size() > 2 && part.front() == '{' && part.back() == '}';
    if (!parameter) {
      if (i >= segments.size() || segments[i] != part) return std::nullopt;
      continue;
    }
    std::string_view name = part.substr(1, part.size() - 2);
    if (name.ends_with("...")) {  // the rest of the path
      if (i + 1 != parts.size() || i >= segments.size()) return std::nullopt;
      std::string rest = segments[i];
      for (std::size_t j = i + 1; j < segments.size(); ++j) rest += "/" + segments[j];
      name.remove_suffix(3);
      parameters.emplace_back(std::string(name), std::move(rest));
      return parameters;
    }
    if (i >= segments.size() || segments[i].empty()) return std::nullopt;
    parameters.emplace_back(std::string(name), segments[i]);
  }
  if (parts.size() != segments.size()) return std::nullopt;
  return parameters;
}

}  // namespace gpupool::api
