#include "scheduler/placement_state.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <map>

#include "scheduler/gpu_topology.hpp"

namespace gpupool::scheduler {

bool matches(const Node& node, const std::map<std::string, std::string>& selector) {
  for (const auto& [key, value] : selector) {
    auto found = node.labels.find(key);
    if (found == node.labels.end() || found->second != value) return false;
  }
  return true;
}

int cuda_number(const std::string& version) {
  if (version.empty()) return 0;
  int major = 0;
  int minor = 0;
  auto dot = version.find('.');
  std::from_chars(version.data(), version.data() + std::min(dot, version.size()), major);
  if (dot != std::string::npos)
    std::from_chars(version.data() + dot + 1, version.data() + version.size(), minor);
  return major * 1000 + minor * 10;
}

PlacementState::PlacementState(const std::vector<Node>& nodes, UnixMillis now) : nodes_(nodes) {
  for (const auto& node : nodes) {
    for (const auto& gpu : node.gpus) {
      if (std::find(models_.begin(), models_.end(), gpu.model) == models_.end())
        models_.push_back(gpu.model);
    }
  }
  whole_index_.resize(models_.size() + 1);
  shared_index_.resize(models_.size() + 1);
  capacity_.resize(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const Node& node = nodes[i];
    NodeCapacity& capacity = capacity_[i];
    capacity.usable =
        !node.drained && !node.removed && now - node.last_seen <= kNodeSilenceLimitMillis;
    capacity.free_whole.assign(models_.size(), 0);
    for (const auto& gpu : node.gpus) {
      int model = model_id(gpu.model);
      capacity.gpus.push_back({model, gpu.memory_mb, gpu.memory_mb, 0, false});
      ++capacity.free_whole[static_cast<std::size_t>(model)];
      ++capacity.free_whole_total;
    }
    capacity.free_cpus = node.cpus;
    capacity.free_memory_mb = node.memory_mb;
    capacity.driver_cuda = cuda_number(node.driver_cuda);
    if (node.port_min > 0 && node.port_max >= node.port_min) {
      capacity.port_used.assign(
          static_cast<std::size_t>(node.port_max) - static_cast<std::size_t>(node.port_min) + 1,
          false);
      capacity.ports_free = static_cast<int>(capacity.port_used.size());
    }
    index(static_cast<int>(i));
  }
}

int PlacementState::model_id(const std::string& model) const {
  if (model.empty()) return kAnyModel;
  auto it = std::find(models_.begin(), models_.end(), model);
  return it == models_.end() ? -1 : static_cast<int>(it - models_.begin());
}

std::size_t PlacementState::index_slot(int model) const {
  return model == kAnyModel ? models_.size() : static_cast<std::size_t>(model);
}

void PlacementState::set_workload(std::vector<WorkloadShape> workload) {
  workload_ = std::move(workload);
  for (auto& capacity : capacity_)
    capacity.fragmentation = fragmentation(capacity.gpus, capacity.free_cpus);
}

bool PlacementState::may_use(const Gpu& gpu, int model, const Demand& demand) const {
  if (model != kAnyModel) return gpu.model == model;
  return demand.excluded_gpu_models.empty() ||
         !demand.excluded_gpu_models.contains(models_[static_cast<std::size_t>(gpu.model)]);
}

int PlacementState::node_index(const std::string& name) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

void PlacementState::index(int node) {
  NodeCapacity& capacity = capacity_[static_cast<std::size_t>(node)];
  if (!capacity.usable) return;
  if (!workload_.empty()) capacity.fragmentation = fragmentation(capacity.gpus, capacity.free_cpus);
  std::size_t any = models_.size();
  for (std::size_t model = 0; model < models_.size(); ++model) {
    if (capacity.free_whole[model] > 0)
      whole_index_[model].insert({capacity.free_whole[model], node});
  }
  if (capacity.free_whole_total > 0) whole_index_[any].insert({capacity.free_whole_total, node});
  for (std::size_t g = 0; g < capacity.gpus.size(); ++g) {
    const Gpu& gpu = capacity.gpus[g];
    if (gpu.sharers == 0 || gpu.free_memory_mb <= 0) continue;
    shared_index_[static_cast<std::size_t>(gpu.model)].insert(
        {gpu.free_memory_mb, node, static_cast<int>(g)});
    shared_index_[any].insert({gpu.free_memory_mb, node, static_cast<int>(g)});
  }
}

void PlacementState::unindex(int node) {
  const NodeCapacity& capacity = capacity_[static_cast<std::size_t>(node)];
  if (!capacity.usable) return;
  std::size_t any = models_.size();
  for (std::size_t model = 0; model < models_.size(); ++model) {
    whole_index_[model].erase({capacity.free_whole[model], node});
  }
  whole_index_[any].erase({capacity.free_whole_total, node});
  for (std::size_t g = 0; g < capacity.gpus.size(); ++g) {
    const Gpu& gpu = capacity.gpus[g];
    shared_index_[static_cast<std::size_t>(gpu.model)].erase(
        {gpu.free_memory_mb, node, static_cast<int>(g)});
    shared_index_[any].erase({gpu.free_memory_mb, node, static_cast<int>(g)});
  }
}

bool PlacementState::fits_besides_gpus(int node, const Demand& demand, int cuda) const {
  const NodeCapacity& capacity = capacity_[static_cast<std::size_t>(node)];
  if (!capacity.usable || reserved_.contains(node)) return false;
  if (only_node_ >= 0 && node != only_node_) return false;
  if (demand.cpus > capacity.free_cpus + kCpuEpsilon || demand.memory_mb > capacity.free_memory_mb)
    return false;
  if (cuda > 0 && capacity.driver_cuda < cuda) return false;
  if (!demand.node_selector.empty() &&
      !matches(nodes_[static_cast<std::size_t>(node)], demand.node_selector)) {
    return false;
  }
  if (demand.needs_ports && !capacity.port_used.empty() && capacity.ports_free < 2) return false;
  return true;
}

std::optional<Assignment> PlacementState::place(const Demand& demand) {
  if (!demand.preferred_node.empty()) {
    if (int preferred = node_index(demand.preferred_node); preferred >= 0) {
      only_node_ = preferred;
      auto there = place_anywhere(demand);
      only_node_ = -1;
      if (there) return there;
    }
  }
  return place_anywhere(demand);
}

std::optional<Assignment> PlacementState::place_anywhere(const Demand& demand) {
  int model = model_id(demand.gpu_model);
  if (model == -1) return std::nullopt;
  int cuda = cuda_number(demand.cuda);
  if (demand.gpu_memory_mb > 0) return place_share(demand, model, cuda);
  if (demand.gpus > 0) return place_whole(demand, model, cuda);
  // CPU-only: the node with the fewest free GPUs, so that CPUs next to free GPUs stay
  // available to GPU sessions; then the fewest free CPUs, to keep big nodes whole.
  int best = -1;
  auto better = [this](std::size_t a, std::size_t b) {
    if (capacity_[a].free_whole_total != capacity_[b].free_whole_total) {
      return capacity_[a].free_whole_total < capacity_[b].free_whole_total;
    }
    return capacity_[a].free_cpus < capacity_[b].free_cpus;
  };
  std::vector<Assignment> candidates;
  for (std::size_t node = 0; node < capacity_.size(); ++node) {
    if (!fits_besides_gpus(static_cast<int>(node), demand, cuda)) continue;
    if (!workload_.empty()) candidates.push_back({static_cast<int>(node), {}, {}});
    if (best < 0 || better(node, static_cast<std::size_t>(best))) best = static_cast<int>(node);
  }
  if (!workload_.empty()) {
    // Weigh every feasible node, the heuristic's favourite first so that it wins ties.
    std::stable_sort(
        candidates.begin(), candidates.end(), [&](const Assignment& a, const Assignment& b) {
          return better(static_cast<std::size_t>(a.node), static_cast<std::size_t>(b.node));
        });
    return commit_best(demand, candidates);
  }
  if (best < 0) return std::nullopt;
  Assignment assignment{best, {}, {}};
  commit(best, demand, assignment);
  return assignment;
}

std::optional<Assignment> PlacementState::place_whole(const Demand& demand, int model, int cuda) {
  std::size_t slot = index_slot(model);
  std::size_t limit = candidate_limit();
  std::vector<Assignment> candidates;
  // Best fit first: the nodes left with the fewest free GPUs of the model.
  const auto& ordered = whole_index_[slot];
  for (auto it = ordered.lower_bound({demand.gpus, -1});
       it != ordered.end() && candidates.size() < limit; ++it) {
    int node = it->second;
    if (!fits_besides_gpus(node, demand, cuda)) continue;
    std::vector<int> free;
    const auto& gpus = capacity_[static_cast<std::size_t>(node)].gpus;
    for (std::size_t g = 0; g < gpus.size(); ++g) {
      if (gpus[g].is_free() && may_use(gpus[g], model, demand)) free.push_back(static_cast<int>(g));
    }
    if (free.size() < static_cast<std::size_t>(demand.gpus)) continue;  // excluded models
    candidates.push_back(
        {node, best_connected(nodes_[static_cast<std::size_t>(node)], free, demand.gpus), {}});
  }
  return commit_best(demand, candidates);
}

void PlacementState::take(NodeCapacity& capacity, const Demand& demand,
                          const std::vector<int>& gpu_indices) {
  capacity.free_cpus -= demand.cpus;
  capacity.free_memory_mb -= demand.memory_mb;
  for (int index : gpu_indices) {
    const Gpu& gpu = capacity.gpus[static_cast<std::size_t>(index)];
    if (gpu.is_free()) {
      --capacity.free_whole[static_cast<std::size_t>(gpu.model)];
      --capacity.free_whole_total;
    }
  }
  take_gpus(capacity.gpus, demand, gpu_indices);
}

void PlacementState::take_gpus(std::vector<Gpu>& gpus, const Demand& demand,
                               const std::vector<int>& gpu_indices) {
  for (int index : gpu_indices) {
    Gpu& gpu = gpus[static_cast<std::size_t>(index)];
    if (demand.gpu_memory_mb > 0) {
      ++gpu.sharers;
      gpu.free_memory_mb -= demand.gpu_memory_mb;
    } else {
      gpu.exclusive = true;
      gpu.free_memory_mb = 0;
    }
  }
}

std::optional<Assignment> PlacementState::place_share(const Demand& demand, int model, int cuda) {
  std::size_t slot = index_slot(model);
  std::size_t limit = candidate_limit();
  std::vector<Assignment> candidates;
  // GPUs already shared, tightest fit first: the least free memory that holds the share.
  const auto& shared = shared_index_[slot];
  for (auto it = shared.lower_bound({demand.gpu_memory_mb, -1, -1});
       it != shared.end() && candidates.size() < limit; ++it) {
    auto [free_memory, node, gpu] = *it;
    if (!may_use(capacity_[static_cast<std::size_t>(node)].gpus[static_cast<std::size_t>(gpu)],
                 model, demand)) {
      continue;
    }
    if (fits_besides_gpus(node, demand, cuda)) candidates.push_back({node, {gpu}, {}});
  }
  // Free GPUs to open in shared mode, on the nodes with the fewest free GPUs first.
  std::size_t openings = 0;
  const auto& whole = whole_index_[slot];
  for (auto it = whole.lower_bound({1, -1});
       it != whole.end() && openings < limit && (candidates.empty() || !workload_.empty()); ++it) {
    int node = it->second;
    if (!fits_besides_gpus(node, demand, cuda)) continue;
    const auto& gpus = capacity_[static_cast<std::size_t>(node)].gpus;
    for (std::size_t g = 0; g < gpus.size(); ++g) {
      if (gpus[g].is_free() && may_use(gpus[g], model, demand) &&
          gpus[g].memory_mb >= demand.gpu_memory_mb) {
        candidates.push_back({node, {static_cast<int>(g)}, {}});
        ++openings;
        break;
      }
    }
  }
  return commit_best(demand, candidates);
}

std::vector<int> PlacementState::take_ports(int node) {
  NodeCapacity& capacity = capacity_[static_cast<std::size_t>(node)];
  std::vector<int> ports;
  for (std::size_t p = 0; p < capacity.port_used.size() && ports.size() < 2; ++p) {
    if (capacity.port_used[p]) continue;
    capacity.port_used[p] = true;
    --capacity.ports_free;
    ports.push_back(nodes_[static_cast<std::size_t>(node)].port_min + static_cast<int>(p));
  }
  return ports;
}

void PlacementState::commit(int node, const Demand& demand, Assignment& assignment) {
  unindex(node);
  NodeCapacity& capacity = capacity_[static_cast<std::size_t>(node)];
  take(capacity, demand, assignment.gpu_indices);
  if (demand.needs_ports && !capacity.port_used.empty()) assignment.ports = take_ports(node);
  index(node);
}

void PlacementState::release(const Demand& demand, const Assignment& assignment) {
  int node = assignment.node;
  unindex(node);
  NodeCapacity& capacity = capacity_[static_cast<std::size_t>(node)];
  capacity.free_cpus += demand.cpus;
  capacity.free_memory_mb += demand.memory_mb;
  for (int index : assignment.gpu_indices) {
    Gpu& gpu = capacity.gpus[static_cast<std::size_t>(index)];
    if (demand.gpu_memory_mb > 0) {
      --gpu.sharers;
      gpu.free_memory_mb += demand.gpu_memory_mb;
    } else {
      gpu.exclusive = false;
      gpu.free_memory_mb = gpu.memory_mb;
    }
    if (gpu.is_free()) {
      ++capacity.free_whole[static_cast<std::size_t>(gpu.model)];
      ++capacity.free_whole_total;
    }
  }
  for (int port : assignment.ports) {
    auto offset = static_cast<std::size_t>(port - nodes_[static_cast<std::size_t>(node)].port_min);
    if (offset < capacity.port_used.size() && capacity.port_used[offset]) {
      capacity.port_used[offset] = false;
      ++capacity.ports_free;
    }
  }
  index(node);
}

void PlacementState::hold(const std::string& node_name, const std::vector<int>& gpu_indices,
                          std::int64_t gpu_memory_mb, double cpus, std::int64_t memory_mb,
                          const std::vector<int>& ports) {
  int node = node_index(node_name);
  if (node < 0) return;
  NodeCapacity& capacity = capacity_[static_cast<std::size_t>(node)];
  Demand demand;
  demand.gpus = gpu_memory_mb > 0 ? 0 : static_cast<int>(gpu_indices.size());
  demand.gpu_memory_mb = gpu_memory_mb;
  demand.cpus = cpus;
  demand.memory_mb = memory_mb;
  demand.needs_ports = false;
  Assignment assignment{node, {}, {}};
  for (int index : gpu_indices) {
    if (index >= 0 && static_cast<std::size_t>(index) < capacity.gpus.size())
      assignment.gpu_indices.push_back(index);
  }
  commit(node, demand, assignment);
  unindex(node);
  for (int port : ports) {
    auto offset = static_cast<std::size_t>(port - nodes_[static_cast<std::size_t>(node)].port_min);
    if (port >= nodes_[static_cast<std::size_t>(node)].port_min &&
        offset < capacity.port_used.size() && !capacity.port_used[offset]) {
      capacity.port_used[offset] = true;
      --capacity.ports_free;
    }
  }
  index(node);
}

std::unordered_map<std::string, PlacementState::GpuFree> PlacementState::free_by_model() const {
  std::unordered_map<std::string, GpuFree> result;
  for (std::size_t node = 0; node < capacity_.size(); ++node) {
    if (!capacity_[node].usable) continue;
    for (const auto& gpu : capacity_[node].gpus) {
      GpuFree& free = result[models_[static_cast<std::size_t>(gpu.model)]];
      if (gpu.is_free()) ++free.free_whole;
      if (gpu.sharers > 0) ++free.shared;
      if (!gpu.exclusive) free.free_memory_mb += gpu.free_memory_mb;
    }
  }
  return result;
}

}  // namespace gpupool::scheduler
