#include "scheduler/placement_state.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <map>

#include <fmt/format.h>

namespace gpupool::scheduler {

namespace {

constexpr double kCpuEpsilon = 1e-9;

std::string cuda_text(int number) {
  return fmt::format("{}.{}", number / 1000, (number % 1000) / 10);
}

int link_cost(const Node& node, int a, int b) {
  if (a == b) return 0;
  const auto& links = node.gpus[static_cast<std::size_t>(a)].links;
  return static_cast<std::size_t>(b) < links.size()
             ? static_cast<int>(links[static_cast<std::size_t>(b)])
             : static_cast<int>(GpuLink::system);
}

}  // namespace

std::vector<int> best_connected(const Node& node, const std::vector<int>& free, int count) {
  if (static_cast<int>(free.size()) <= count || count <= 1) {
    return std::vector<int>(free.begin(),
                            free.begin() + std::min<std::ptrdiff_t>(count, std::ssize(free)));
  }
  // Grow a set from each seed, always adding the GPU closest to those already chosen; keep
  // the set whose worst link is best, then whose links sum lowest. Deterministic: ties keep
  // the earlier (lower-indexed) choice.
  std::vector<int> best;
  std::pair<int, int> best_cost{INT32_MAX, INT32_MAX};
  for (int seed : free) {
    std::vector<int> chosen = {seed};
    while (static_cast<int>(chosen.size()) < count) {
      int pick = -1;
      int pick_cost = INT32_MAX;
      for (int candidate : free) {
        if (std::find(chosen.begin(), chosen.end(), candidate) != chosen.end()) continue;
        int cost = 0;
        for (int member : chosen) cost += link_cost(node, candidate, member);
        if (cost < pick_cost) {
          pick = candidate;
          pick_cost = cost;
        }
      }
      chosen.push_back(pick);
    }
    std::pair<int, int> cost{0, 0};
    for (int a : chosen) {
      for (int b : chosen) {
        cost.first = std::max(cost.first, link_cost(node, a, b));
        cost.second += link_cost(node, a, b);
      }
    }
    if (cost < best_cost) {
      best_cost = cost;
      best = chosen;
    }
  }
  std::sort(best.begin(), best.end());
  return best;
}

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
    capacity.usable = !node.drained && now - node.last_seen <= kNodeSilenceLimitMillis;
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

// Without a workload the best fit wins outright, so one candidate is enough.
std::size_t PlacementState::candidate_limit() const {
  return workload_.empty() ? 1 : kFragmentationCandidates;
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

std::optional<Assignment> PlacementState::commit_best(const Demand& demand,
                                                      std::vector<Assignment>& candidates) {
  if (candidates.empty()) return std::nullopt;
  std::size_t chosen = 0;
  if (!workload_.empty() && candidates.size() > 1) {
    // Fragmentation gradient: the candidate that least raises its node's expected
    // fragmentation under the workload's mix; earlier (better fitting) ones win ties.
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < candidates.size(); ++c) {
      const NodeCapacity& before = capacity_[static_cast<std::size_t>(candidates[c].node)];
      std::vector<Gpu> after = before.gpus;  // only what fragmentation reads, not the ports
      take_gpus(after, demand, candidates[c].gpu_indices);
      double delta = fragmentation(after, before.free_cpus - demand.cpus) - before.fragmentation;
      if (delta < best - 1e-9) {
        best = delta;
        chosen = c;
      }
    }
  }
  Assignment assignment = std::move(candidates[chosen]);
  commit(assignment.node, demand, assignment);
  return assignment;
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

std::vector<WorkloadShape> PlacementState::workload_of(const std::vector<Demand>& requests,
                                                       std::size_t max_shapes) {
  std::map<std::tuple<int, std::int64_t, double>, int> counts;
  int total = 0;
  for (const auto& request : requests) {
    if (request.gpus == 0 && request.gpu_memory_mb == 0) continue;
    ++counts[{request.gpus, request.gpu_memory_mb, request.cpus}];
    ++total;
  }
  std::vector<WorkloadShape> shapes;
  for (const auto& [shape, count] : counts) {
    shapes.push_back({std::get<0>(shape), std::get<1>(shape), std::get<2>(shape),
                      static_cast<double>(count) / total});
  }
  std::stable_sort(
      shapes.begin(), shapes.end(),
      [](const WorkloadShape& a, const WorkloadShape& b) { return a.weight > b.weight; });
  if (shapes.size() > max_shapes) shapes.resize(max_shapes);
  return shapes;
}

double PlacementState::fragmentation(const std::vector<Gpu>& gpus, double free_cpus) const {
  double total = 0;
  for (const auto& shape : workload_) {
    bool share = shape.gpu_memory_mb > 0;
    int free_whole = 0;
    bool share_fits = false;
    for (const auto& gpu : gpus) {
      if (gpu.is_free()) ++free_whole;
      if (!gpu.exclusive && gpu.free_memory_mb >= shape.gpu_memory_mb) share_fits = true;
    }
    bool fits =
        shape.cpus <= free_cpus + kCpuEpsilon && (share ? share_fits : free_whole >= shape.gpus);
    double fragment = 0;
    for (const auto& gpu : gpus) {
      if (gpu.exclusive) continue;
      // GPU memory this shape could not use: all of it when the shape does not fit at all,
      // else what is left on GPUs too full for it.
      bool unusable = !fits || (share ? gpu.free_memory_mb < shape.gpu_memory_mb : !gpu.is_free());
      if (unusable)
        fragment += static_cast<double>(gpu.free_memory_mb) / static_cast<double>(gpu.memory_mb);
    }
    total += shape.weight * fragment;
  }
  return total;
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
