#include "model/node.hpp"

#include <algorithm>

namespace gpupool {

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
