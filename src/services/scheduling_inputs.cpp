#include "services/scheduling_inputs.hpp"

#include <algorithm>

#include "metering/meter.hpp"
#include "scheduler/fair_share.hpp"
#include "scheduler/placement_state.hpp"

namespace gpupool::services {

namespace {

// Whole GPUs count one each; a share counts as its part of the GPU's memory.
double gpu_equivalents(const Session& session, const std::vector<Node>& nodes) {
  if (session.request.gpu_memory_mb <= 0) return session.request.gpus;
  for (const auto& node : nodes) {
    if (node.name != session.node || session.gpu_indices.empty()) continue;
    auto index = static_cast<std::size_t>(session.gpu_indices.front());
    if (index < node.gpus.size() && node.gpus[index].memory_mb > 0) {
      return std::min(1.0, static_cast<double>(session.request.gpu_memory_mb) /
                               static_cast<double>(node.gpus[index].memory_mb));
    }
  }
  return 1.0;
}

}  // namespace

scheduler::Allocation allocation_of(const Session& session) {
  scheduler::Allocation allocation;
  allocation.session_id = session.id;
  allocation.node = session.node;
  allocation.gpu_indices = session.gpu_indices;
  allocation.gpu_memory_mb = session.request.gpu_memory_mb;
  allocation.cpus = session.request.cpus;
  allocation.memory_mb = session.request.memory_mb;
  allocation.jupyter_port = session.jupyter_port;
  allocation.ssh_port = session.ssh_port;
  allocation.preemptible = session.request.preemptible;
  allocation.since = session.started_at != 0 ? session.started_at : session.updated_at;
  if (session.request.max_hours && session.started_at != 0) {
    allocation.ends_at =
        session.started_at + static_cast<UnixMillis>(*session.request.max_hours * 3600 * 1000);
  }
  return allocation;
}

std::map<std::int64_t, double> fair_share_usage(const std::vector<Session>& history,
                                                const std::vector<Node>& nodes, UnixMillis now,
                                                UnixMillis half_life) {
  std::map<std::int64_t, std::vector<scheduler::UsageInterval>> intervals;
  for (const auto& session : history) {
    if (session.started_at == 0) continue;
    intervals[session.user_id].push_back(
        {session.started_at, session.ended_at, gpu_equivalents(session, nodes)});
  }
  std::map<std::int64_t, double> usage;
  for (const auto& [user, list] : intervals) {
    usage[user] = scheduler::decayed_gpu_hours(list, now, half_life);
  }
  return usage;
}

std::vector<scheduler::WorkloadShape> workload_of(const std::vector<Session>& history) {
  constexpr std::size_t kRecentRequests = 1000;
  constexpr std::size_t kShapes = 16;
  std::vector<scheduler::Demand> recent;
  std::size_t start = history.size() > kRecentRequests ? history.size() - kRecentRequests : 0;
  for (std::size_t i = start; i < history.size(); ++i) {
    recent.push_back(scheduler::demand_of(history[i].request));
  }
  return scheduler::PlacementState::workload_of(recent, kShapes);
}

void start_meter(Session& session, const std::vector<Node>& nodes,
                 const std::vector<Price>& prices) {
  if (session.gpu_indices.empty()) {
    // No GPU: its CPUs at the CPU price (0 until an admin sets one); no GPU-hours.
    session.billed_gpu_model = metering::kCpuPriceModel;
    session.billed_gpus = 0;
    session.rate_micros_per_hour =
        metering::hourly_rate_micros(prices, metering::kCpuPriceModel, session.request.cpus);
    return;
  }
  for (const auto& node : nodes) {
    if (node.name != session.node) continue;
    for (const auto& gpu : node.gpus) {
      if (gpu.index != session.gpu_indices.front()) continue;
      session.billed_gpu_model = gpu.model;
      session.billed_gpus = metering::billed_gpus(session.request, gpu.memory_mb);
      session.rate_micros_per_hour =
          metering::hourly_rate_micros(prices, gpu.model, session.billed_gpus);
      return;
    }
  }
}

std::string home_node_of(const std::vector<std::string>& recent_nodes,
                         const std::vector<Node>& nodes) {
  for (const auto& name : recent_nodes) {
    auto node = std::find_if(nodes.begin(), nodes.end(),
                             [&](const Node& candidate) { return candidate.name == name; });
    if (node != nodes.end() && !node->shared_homes && !node->removed) return name;
  }
  return {};
}

int free_port(const std::set<int>& taken, std::pair<int, int> range) {
  for (int port = range.first; port > 0 && port <= range.second; ++port)
    if (!taken.contains(port)) return port;
  return 0;
}

}  // namespace gpupool::services
