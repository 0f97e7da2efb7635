#include "model/node.hpp"

#include <algorithm>

namespace gpupool {

Status check_node_name(std::string_view name) {
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
  };
  bool starts_well =
      !name.empty() && ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'));
  if (!starts_well || name.size() > 63 || !std::all_of(name.begin(), name.end(), allowed)) {
    return make_error(ErrorCode::invalid_argument,
                      "a node name is 1-63 lower-case letters, digits, '.', '-' or '_', starting "
                      "with a letter or digit");
  }
  return {};
}

std::string_view to_string(GpuLink link) {
  switch (link) {
    case GpuLink::same:
      return "same";
    case GpuLink::nvlink:
      return "nvlink";
    case GpuLink::pcie_switch:
      return "pcie-switch";
    case GpuLink::numa_node:
      return "numa-node";
    case GpuLink::system:
      return "system";
  }
  return "system";
}

GpuLink worst_link(const std::vector<GpuDevice>& gpus, const std::vector<int>& chosen) {
  GpuLink worst = GpuLink::same;
  for (int a : chosen) {
    for (int b : chosen) {
      if (a == b) continue;
      const auto& links = gpus[static_cast<std::size_t>(a)].links;
      GpuLink link = static_cast<std::size_t>(b) < links.size() ? links[static_cast<std::size_t>(b)]
                                                                : GpuLink::system;
      worst = std::max(worst, link);
    }
  }
  return worst;
}

}  // namespace gpupool
