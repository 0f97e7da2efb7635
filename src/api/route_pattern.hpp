// Route patterns: "/api/v1/prices/{model}" matched against a request's decoded path
// segments. A literal segment must be equal; "{name}" takes one non-empty segment;
// "{name...}" (last only) takes the rest, at least one segment. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gpupool::api {

// The values the pattern's "{name}" segments took, in order.
using PathParameters = std::vector<std::pair<std::string, std::string>>;

// "/a/b/" → {"a", "b", ""}; "/" → {}. The pattern's own segments, or a path's undecoded ones.
std::vector<std::string_view> split_path(std::string_view path);

// The parameters when `segments` (decoded) fit `pattern`, or nullopt.
std::optional<PathParameters> match_route_pattern(std::string_view pattern,
                                                  const std::vector<std::string>& segments);
// The same with the pattern already split (split_path), as the dispatcher keeps it.
std::optional<PathParameters> match_route_pattern(const std::vector<std::string_view>& parts,
                                                  const std::vector<std::string>& segments);

}  // namespace gpupool::api
