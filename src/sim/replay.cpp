#include "sim/replay.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <queue>
#include <string>

#include "scheduler/schedule.hpp"
#include "sim/cluster.hpp"

namespace gpupool::sim {

namespace {

constexpr std::size_t kTaskTypes = 32;

struct Job {
  Pod pod;
  std::int64_t arrival_s = 0;
  std::int64_t duration_s = 0;
  std::int64_t start_s = -1;
};

struct Running {
  std::int64_t end_s = 0;
  std::size_t job = 0;
  int node = 0;
  std::vector<int> gpus;
  bool operator>(const Running& other) const { return end_s > other.end_s; }
};

// The two queue policies behind one interface: given the queue (job indices in arrival
// order) and what runs, which queued jobs start now and where.
class Dispatcher {
 public:
  Dispatcher(const std::vector<TraceNode>& nodes, const std::vector<TracePod>& pods,
             QueuePolicy policy)
      : policy_(policy),
        scheduler_nodes_(scheduler_nodes(nodes)),
        workload_(workload_of(task_types(pods, kTaskTypes))) {
    for (const auto& node : nodes) states_.push_back(node_state_of(node));
  }

  std::vector<std::pair<std::size_t, Running>> dispatch(const std::vector<Job>& jobs,
                                                        const std::vector<std::size_t>& queue,
                                                        const std::vector<Running>& running) {
    return policy_ == QueuePolicy::gpupool ? dispatch_gpupool(jobs, queue, running)
                                           : dispatch_first_fit(jobs, queue);
  }

  void release(const Job& job, const Running& run) {
    apply(states_[static_cast<std::size_t>(run.node)], job.pod, run.gpus, -1);
  }

 private:
  std::vector<std::pair<std::size_t, Running>> dispatch_first_fit(
      const std::vector<Job>& jobs, const std::vector<std::size_t>& queue) {
    std::vector<std::pair<std::size_t, Running>> started;
    for (std::size_t job : queue) {
      const Pod& pod = jobs[job].pod;
      std::optional<Running> placed;
      for (std::size_t n = 0; n < states_.size() && !placed; ++n) {
        if (!fits(states_[n], pod)) continue;
        placed = Running{0, job, static_cast<int>(n), gpu_options(states_[n], pod).front()};
      }
      if (!placed && policy_ == QueuePolicy::fifo_first_fit)
        break;  // strict: nothing passes the head
      if (!placed) continue;
      apply(states_[static_cast<std::size_t>(placed->node)], pod, placed->gpus, +1);
      started.emplace_back(job, *placed);
    }
    return started;
  }

  std::vector<std::pair<std::size_t, Running>> dispatch_gpupool(
      const std::vector<Job>& jobs, const std::vector<std::size_t>& queue,
      const std::vector<Running>& running) {
    scheduler::Snapshot snapshot;
    snapshot.nodes = scheduler_nodes_;
    snapshot.workload = workload_;
    for (const auto& run : running) {
      const Pod& pod = jobs[run.job].pod;
      auto demand = demand_of(pod);
      snapshot.allocations.push_back({std::to_string(run.job),
                                      scheduler_nodes_[static_cast<std::size_t>(run.node)].name,
                                      run.gpus, demand.gpu_memory_mb, demand.cpus, 0, 0, 0});
    }
    for (std::size_t job : queue) {
      auto demand = demand_of(jobs[job].pod);
      SessionRequest request;
      request.gpus = std::max(demand.gpus, demand.gpu_memory_mb > 0 ? 1 : 0);
      request.gpu_memory_mb = demand.gpu_memory_mb;
      request.cpus = demand.cpus;
      request.memory_mb = 0;
      if (demand.gpus == 0 && demand.gpu_memory_mb == 0) request.gpus = 0;
      snapshot.pending.push_back(
          {std::to_string(job), request, jobs[job].arrival_s * 1000, "", 0, {}});
    }
    auto plan = scheduler::schedule(snapshot, 0);
    std::map<std::string, int> node_index;
    for (std::size_t n = 0; n < scheduler_nodes_.size(); ++n)
      node_index[scheduler_nodes_[n].name] = static_cast<int>(n);
    std::vector<std::pair<std::size_t, Running>> started;
    for (const auto& placement : plan.placements) {
      std::size_t job = std::stoul(placement.session_id);
      started.emplace_back(job,
                           Running{0, job, node_index.at(placement.node), placement.gpu_indices});
    }
    return started;
  }

  QueuePolicy policy_;
  std::vector<Node> scheduler_nodes_;
  std::vector<scheduler::WorkloadShape> workload_;
  std::vector<NodeState> states_;  // FIFO's own view of free capacity
};

double percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  double position = fraction * static_cast<double>(values.size() - 1);
  auto low = static_cast<std::size_t>(std::floor(position));
  auto high = std::min(low + 1, values.size() - 1);
  return values[low] + (values[high] - values[low]) * (position - static_cast<double>(low));
}

DelayStats delay_stats(const std::vector<double>& delays) {
  DelayStats stats;
  stats.pods = static_cast<int>(delays.size());
  for (double delay : delays) stats.mean_s += delay / static_cast<double>(delays.size());
  stats.p50_s = percentile(delays, 0.5);
  stats.p90_s = percentile(delays, 0.9);
  return stats;
}

}  // namespace

std::string_view to_string(QueuePolicy policy) {
  switch (policy) {
    case QueuePolicy::fifo_first_fit:
      return "fifo-first-fit";
    case QueuePolicy::greedy_first_fit:
      return "greedy-first-fit";
    case QueuePolicy::gpupool:
      return "gpupool";
  }
  return "?";
}

std::vector<TraceNode> sample_nodes(const std::vector<TraceNode>& nodes, int count) {
  std::vector<TraceNode> sample;
  for (int i = 0; i < count && !nodes.empty(); ++i) {
    sample.push_back(
        nodes[static_cast<std::size_t>(i) * nodes.size() / static_cast<std::size_t>(count)]);
  }
  return sample;
}

ReplayResult run_replay(const std::vector<TraceNode>& nodes, const std::vector<TracePod>& pods,
                        QueuePolicy policy) {
  // Pods the original cluster scheduled, in submission order. Those created before the
  // window (the trace's first 33) arrive when it opens, as load already there.
  constexpr std::int64_t kWindowStart = 9'965'463;
  std::vector<NodeState> empty_nodes;
  for (const auto& node : nodes) empty_nodes.push_back(node_state_of(node));
  std::vector<Job> jobs;
  for (const auto& trace : pods) {
    if (trace.duration_s < 0) continue;
    Job job{pod_of(trace), std::max(trace.submit_s, kWindowStart),
            std::max<std::int64_t>(trace.duration_s, 1), -1};
    bool could_run = std::any_of(empty_nodes.begin(), empty_nodes.end(),
                                 [&](const NodeState& node) { return fits(node, job.pod); });
    if (!could_run) continue;  // too big for every sampled node, even empty
    jobs.push_back(job);
  }
  std::stable_sort(jobs.begin(), jobs.end(),
                   [](const Job& a, const Job& b) { return a.arrival_s < b.arrival_s; });

  double capacity = 0;
  for (const auto& node : nodes) capacity += std::min(node.gpus, kMaxGpusPerNode) * kWholeGpu;
  Dispatcher dispatcher(nodes, pods, policy);
  std::priority_queue<Running, std::vector<Running>, std::greater<>> ends;
  std::vector<Running> running;
  std::vector<std::size_t> queue;
  std::size_t next_arrival = 0;
  double allocated = 0;
  double allocated_integral = 0;
  std::int64_t now = jobs.empty() ? 0 : jobs.front().arrival_s;
  std::int64_t start = now;

  while (next_arrival < jobs.size() || !ends.empty()) {
    std::int64_t next = std::numeric_limits<std::int64_t>::max();
    if (next_arrival < jobs.size()) next = jobs[next_arrival].arrival_s;
    if (!ends.empty()) next = std::min(next, ends.top().end_s);
    allocated_integral += allocated * static_cast<double>(next - now);
    now = next;
    bool changed = false;
    while (!ends.empty() && ends.top().end_s <= now) {
      Running done = ends.top();
      ends.pop();
      dispatcher.release(jobs[done.job], done);
      allocated -= jobs[done.job].pod.gpu_total();
      std::erase_if(running, [&](const Running& run) { return run.job == done.job; });
      changed = true;
    }
    while (next_arrival < jobs.size() && jobs[next_arrival].arrival_s <= now) {
      queue.push_back(next_arrival++);
      changed = true;
    }
    if (!changed || queue.empty()) continue;
    for (auto& [job, run] : dispatcher.dispatch(jobs, queue, running)) {
      run.end_s = now + jobs[job].duration_s;
      jobs[job].start_s = now;
      allocated += jobs[job].pod.gpu_total();
      running.push_back(run);
      ends.push(run);
      std::erase(queue, job);
    }
  }

  ReplayResult result;
  result.pods = static_cast<int>(jobs.size());
  std::vector<double> delays;
  std::vector<double> large_delays;
  for (const auto& job : jobs) {
    if (job.start_s >= 0) ++result.started;
    double delay = static_cast<double>((job.start_s >= 0 ? job.start_s : now) - job.arrival_s);
    delays.push_back(delay);
    if (!job.pod.share() && job.pod.gpus >= kLargePodGpus) large_delays.push_back(delay);
  }
  result.delay = delay_stats(delays);
  result.large_delay = delay_stats(large_delays);
  result.allocation_rate =
      now > start ? allocated_integral / (capacity * static_cast<double>(now - start)) : 0;
  return result;
}

}  // namespace gpupool::sim
