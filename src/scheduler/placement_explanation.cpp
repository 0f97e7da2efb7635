// Why a request cannot be placed now (PlacementState::explain), and which node a blocked
// request should hold so that it starts first (best_reservation).
#include <fmt/format.h>

#include "scheduler/placement_state.hpp"

namespace gpupool::scheduler {

namespace {

std::string cuda_text(int number) {
  return fmt::format("{}.{}", number / 1000, (number % 1000) / 10);
}

}  // namespace

bool PlacementState::gpus_fit(int node, const Demand& demand) const {
  int model = model_id(demand.gpu_model);
  if (model == -1) return false;
  int free = 0;
  for (const auto& gpu : capacity_[static_cast<std::size_t>(node)].gpus) {
    if (!may_use(gpu, model, demand)) continue;
    if (demand.gpu_memory_mb > 0) {
      if (!gpu.exclusive && gpu.free_memory_mb >= demand.gpu_memory_mb) return true;
    } else if (gpu.is_free()) {
      ++free;
    }
  }
  return demand.gpu_memory_mb <= 0 && free >= demand.gpus;
}

std::optional<int> PlacementState::best_reservation(const Demand& demand) const {
  int model = model_id(demand.gpu_model);
  if (model == -1) return std::nullopt;
  int cuda = cuda_number(demand.cuda);
  std::optional<int> best;
  int best_free = -1;
  for (std::size_t node = 0; node < nodes_.size(); ++node) {
    const NodeCapacity& capacity = capacity_[node];
    if (!capacity.usable || reserved_.contains(static_cast<int>(node))) continue;
    if (demand.cpus > nodes_[node].cpus || demand.memory_mb > nodes_[node].memory_mb) continue;
    if (cuda > 0 && capacity.driver_cuda < cuda) continue;
    if (!matches(nodes_[node], demand.node_selector)) continue;
    int total = 0;
    int free = 0;
    for (const auto& gpu : capacity.gpus) {
      if (!may_use(gpu, model, demand)) continue;
      ++total;
      if (gpu.is_free()) ++free;
    }
    int needed = demand.gpu_memory_mb > 0 ? 1 : demand.gpus;
    if (total < needed) continue;
    if (free > best_free) {
      best = static_cast<int>(node);
      best_free = free;
    }
  }
  return best;
}

QueueReason PlacementState::explain(const Demand& demand) const {
  using enum QueueReasonCode;
  int cuda = cuda_number(demand.cuda);
  if (model_id(demand.gpu_model) == -1)
    return {.code = no_such_model, .gpu_model = demand.gpu_model};
  if (!demand.node_selector.empty()) {
    bool any = false;
    for (std::size_t node = 0; node < nodes_.size(); ++node) {
      any = any || (capacity_[node].usable && matches(nodes_[node], demand.node_selector));
    }
    if (!any) return {.code = no_node_with_labels};
  }
  if (cuda > 0) {
    int best_driver = -1;
    for (std::size_t node = 0; node < nodes_.size(); ++node) {
      if (!capacity_[node].usable) continue;
      if (best_driver < 0 || capacity_[node].driver_cuda >
                                 capacity_[static_cast<std::size_t>(best_driver)].driver_cuda) {
        best_driver = static_cast<int>(node);
      }
    }
    if (best_driver >= 0 && capacity_[static_cast<std::size_t>(best_driver)].driver_cuda < cuda) {
      const auto& capacity = capacity_[static_cast<std::size_t>(best_driver)];
      if (capacity.driver_cuda == 0) return {.code = no_driver_for_cuda, .cuda = cuda_text(cuda)};
      return {.code = driver_too_old,
              .cuda = cuda_text(cuda),
              .node = nodes_[static_cast<std::size_t>(best_driver)].name,
              .driver_cuda = cuda_text(capacity.driver_cuda)};
    }
  }
  // Where the GPUs are free, say what else is short.
  bool gpus_free_somewhere = false;
  bool cpus_short = false;
  bool memory_short = false;
  bool ports_short = false;
  bool held = false;
  for (std::size_t node = 0; node < capacity_.size(); ++node) {
    const NodeCapacity& capacity = capacity_[node];
    if (!capacity.usable || !gpus_fit(static_cast<int>(node), demand) ||
        (cuda > 0 && capacity.driver_cuda < cuda)) {
      continue;
    }
    gpus_free_somewhere = true;
    held = held || reserved_.contains(static_cast<int>(node));
    cpus_short = cpus_short || demand.cpus > capacity.free_cpus + kCpuEpsilon;
    memory_short = memory_short || demand.memory_mb > capacity.free_memory_mb;
    ports_short = ports_short ||
                  (demand.needs_ports && !capacity.port_used.empty() && capacity.ports_free < 2);
  }
  if (gpus_free_somewhere) {
    if (cpus_short || memory_short) {
      return {.code = waiting_for_cpus_or_memory,
              .cpus = cpus_short ? demand.cpus : 0,
              .memory_mb = memory_short ? demand.memory_mb : 0};
    }
    if (ports_short) return {.code = waiting_for_ports};
    if (held) return {.code = waiting_behind_reservation};
  }
  if (demand.gpu_memory_mb > 0) {
    return {.code = waiting_for_gpu_memory,
            .gpu_model = demand.gpu_model,
            .gpu_memory_mb = demand.gpu_memory_mb};
  }
  if (demand.gpus == 0) {
    return {.code = waiting_for_cpus_and_memory,
            .cpus = static_cast<double>(static_cast<int>(demand.cpus)),
            .memory_mb = demand.memory_mb};
  }
  return {.code = waiting_for_gpus, .gpu_model = demand.gpu_model, .gpus = demand.gpus};
}

}  // namespace gpupool::scheduler
