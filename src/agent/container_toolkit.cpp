#include "agent/container_toolkit.hpp"

#include <regex>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace gpupool::agent {

namespace {

bool older_than(const ToolkitVersion& version, const ToolkitVersion& fixed) {
  return std::tie(version.major, version.minor, version.patch) <
         std::tie(fixed.major, fixed.minor, fixed.patch);
}

struct Advisory {
  const char* name;
  ToolkitVersion fixed_in;
};

// Container escapes through the toolkit's hooks, from NVIDIA's security bulletins.
const Advisory kAdvisories[] = {
    {"CVE-2024-0132", {1, 16, 2}},   // a crafted image reaches the host's filesystem
    {"CVE-2025-23266", {1, 17, 8}},  // LD_PRELOAD in an image runs as root in the hook
};

constexpr ToolkitVersion kFirstSafe = {1, 17, 8};

}  // namespace

Result<ToolkitVersion> parse_toolkit_version(std::string_view output) {
  static const std::regex version_pattern(R"((\d{1,4})\.(\d{1,4})\.(\d{1,4}))");
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_search(output.begin(), output.end(), match, version_pattern)) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("no version in \"{}\"", output.substr(0, 200)));
  }
  return ToolkitVersion{std::stoi(match[1]), std::stoi(match[2]), std::stoi(match[3])};
}

std::vector<std::string> toolkit_advisories(const ToolkitVersion& version) {
  std::vector<std::string> found;
  for (const auto& advisory : kAdvisories) {
    if (older_than(version, advisory.fixed_in)) found.emplace_back(advisory.name);
  }
  return found;
}

Status check_toolkit_version(const ToolkitVersion& version) {
  auto advisories = toolkit_advisories(version);
  if (advisories.empty()) return {};
  return make_error(
      ErrorCode::unavailable,
      fmt::format("the NVIDIA container toolkit {}.{}.{} lets a session's container reach the "
                  "host ({}); upgrade it to {}.{}.{} or newer before this node takes sessions",
                  version.major, version.minor, version.patch, fmt::join(advisories, ", "),
                  kFirstSafe.major, kFirstSafe.minor, kFirstSafe.patch));
}

}  // namespace gpupool::agent
