// Scheduler decision throughput and latency on synthetic clusters.
//
// For each cluster size it builds nodes of 8 GPUs (a mix of models), then feeds a stream of
// mixed requests (1/2/4/8 whole GPUs, GPU shares, some with a model constraint) one decision
// at a time through PlacementState, releasing random earlier placements so that the cluster
// stays busy (the interesting regime: most decisions search a nearly full cluster). The
// same stream also goes through a naive baseline that scans every node per decision, in the
// same run. Prints decisions/s, placements/s, p50/p99 per decision and peak memory.
//
// usage: build/bench/scheduler_bench [requests=100000] [nodes=1000,10000] [baseline_nodes=1000]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "scheduler/placement_state.hpp"

namespace {

using gpupool::Node;
using gpupool::scheduler::Assignment;
using gpupool::scheduler::Demand;
using gpupool::scheduler::PlacementState;
using Clock = std::chrono::steady_clock;

constexpr gpupool::UnixMillis kNow = 1'000'000;
const std::vector<std::string> kModels = {"A100-80GB", "H100-80GB", "A10-24GB", "T4-16GB"};

std::vector<Node> make_cluster(int count) {
  std::vector<Node> nodes;
  for (int n = 0; n < count; ++n) {
    Node node;
    node.name = fmt::format("node-{:05}", n);
    node.cpus = 128;
    node.memory_mb = 1024 * 1024;
    node.driver_cuda = n % 5 == 0 ? "11.8" : "12.4";
    node.last_seen = kNow;
    const std::string& model = kModels[static_cast<std::size_t>(n) % kModels.size()];
    std::int64_t memory = model.ends_with("80GB")   ? 80 * 1024
                          : model.ends_with("24GB") ? 24 * 1024
                                                    : 16 * 1024;
    for (int g = 0; g < 8; ++g)
      node.gpus.push_back({g, fmt::format("{}-{}", node.name, g), model, memory, true, {}});
    nodes.push_back(std::move(node));
  }
  return nodes;
}

std::vector<Demand> make_stream(int count, unsigned seed) {
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> percent(0, 99);
  std::vector<Demand> stream;
  for (int i = 0; i < count; ++i) {
    Demand demand;
    int kind = percent(random);
    if (kind < 35) {
      demand.gpus = 1;
    } else if (kind < 50) {
      demand.gpus = 2;
    } else if (kind < 60) {
      demand.gpus = 4;
    } else if (kind < 65) {
      demand.gpus = 8;
    } else {
      demand.gpus = 0;
      demand.gpu_memory_mb = std::int64_t{1 + percent(random) % 12} * 1024;
    }
    if (percent(random) < 30)
      demand.gpu_model = kModels[static_cast<std::size_t>(percent(random)) % kModels.size()];
    if (percent(random) < 20) demand.cuda = "12.1";
    demand.cpus = 1 + percent(random) % 8;
    demand.memory_mb = std::int64_t{4 + percent(random) % 28} * 1024;
    demand.needs_ports = false;
    stream.push_back(demand);
  }
  return stream;
}

// The baseline: no index; every decision scans every node and picks the best fit.
class NaiveScheduler {
 public:
  explicit NaiveScheduler(const std::vector<Node>& nodes) : nodes_(nodes) {
    for (const auto& node : nodes) {
      free_.push_back(std::vector<std::int64_t>(node.gpus.size()));
      exclusive_.push_back(std::vector<bool>(node.gpus.size(), false));
      for (std::size_t g = 0; g < node.gpus.size(); ++g) free_.back()[g] = node.gpus[g].memory_mb;
      cpus_.push_back(node.cpus);
      memory_.push_back(node.memory_mb);
    }
  }

  std::optional<Assignment> place(const Demand& demand) {
    int best = -1;
    int best_left = 0;
    for (std::size_t n = 0; n < nodes_.size(); ++n) {
      const Node& node = nodes_[n];
      if (demand.cpus > cpus_[n] || demand.memory_mb > memory_[n]) continue;
      if (!demand.cuda.empty() && node.driver_cuda < demand.cuda) continue;
      int free_whole = 0;
      bool share_fits = false;
      for (std::size_t g = 0; g < node.gpus.size(); ++g) {
        if (!demand.gpu_model.empty() && node.gpus[g].model != demand.gpu_model) continue;
        bool whole_free = !exclusive_[n][g] && free_[n][g] == node.gpus[g].memory_mb;
        if (whole_free) ++free_whole;
        if (!exclusive_[n][g] && free_[n][g] >= demand.gpu_memory_mb) share_fits = true;
      }
      bool fits = demand.gpu_memory_mb > 0 ? share_fits : free_whole >= demand.gpus;
      if (fits && (best < 0 || free_whole < best_left)) {
        best = static_cast<int>(n);
        best_left = free_whole;
      }
    }
    if (best < 0) return std::nullopt;
    auto n = static_cast<std::size_t>(best);
    Assignment assignment{best, {}, {}};
    for (std::size_t g = 0; g < nodes_[n].gpus.size(); ++g) {
      if (!demand.gpu_model.empty() && nodes_[n].gpus[g].model != demand.gpu_model) continue;
      if (demand.gpu_memory_mb > 0) {
        if (!exclusive_[n][g] && free_[n][g] >= demand.gpu_memory_mb) {
          free_[n][g] -= demand.gpu_memory_mb;
          assignment.gpu_indices.push_back(static_cast<int>(g));
          break;
        }
      } else if (!exclusive_[n][g] && free_[n][g] == nodes_[n].gpus[g].memory_mb &&
                 static_cast<int>(assignment.gpu_indices.size()) < demand.gpus) {
        exclusive_[n][g] = true;
        assignment.gpu_indices.push_back(static_cast<int>(g));
      }
    }
    cpus_[n] -= demand.cpus;
    memory_[n] -= demand.memory_mb;
    return assignment;
  }

  void release(const Demand& demand, const Assignment& assignment) {
    auto n = static_cast<std::size_t>(assignment.node);
    for (int g : assignment.gpu_indices) {
      auto index = static_cast<std::size_t>(g);
      if (demand.gpu_memory_mb > 0) {
        free_[n][index] += demand.gpu_memory_mb;
      } else {
        exclusive_[n][index] = false;
      }
    }
    cpus_[n] += demand.cpus;
    memory_[n] += demand.memory_mb;
  }

 private:
  const std::vector<Node>& nodes_;
  std::vector<std::vector<std::int64_t>> free_;
  std::vector<std::vector<bool>> exclusive_;
  std::vector<double> cpus_;
  std::vector<std::int64_t> memory_;
};

long peak_memory_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stol(line.substr(6));
  }
  return 0;
}

struct Result {
  double seconds = 0;
  int placed = 0;
  std::vector<double> decision_micros;
};

// Feeds the stream; once the cluster is busy, each decision also releases one random
// earlier placement so the fill level stays high (steady state, not just filling up).
template <typename Scheduler>
Result run(Scheduler& scheduler, const std::vector<Demand>& stream) {
  std::mt19937 random(7);
  std::vector<std::pair<const Demand*, Assignment>> live;
  Result result;
  result.decision_micros.reserve(stream.size());
  int failures_in_a_row = 0;
  auto start = Clock::now();
  for (const auto& demand : stream) {
    auto before = Clock::now();
    auto assignment = scheduler.place(demand);
    auto after = Clock::now();
    result.decision_micros.push_back(
        std::chrono::duration<double, std::micro>(after - before).count());
    if (assignment) {
      ++result.placed;
      live.emplace_back(&demand, std::move(*assignment));
      failures_in_a_row = 0;
    } else {
      ++failures_in_a_row;
    }
    // A failed placement means the cluster is full: free something, as sessions end.
    if (failures_in_a_row > 0 && !live.empty()) {
      std::size_t victim = std::uniform_int_distribution<std::size_t>(0, live.size() - 1)(random);
      scheduler.release(*live[victim].first, live[victim].second);
      live[victim] = std::move(live.back());
      live.pop_back();
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

double percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  return values[std::min(
      values.size() - 1,
      static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1)))];
}

void report(const std::string& name, int nodes, const Result& result) {
  double decisions = static_cast<double>(result.decision_micros.size());
  std::printf(
      "%-9s %6d nodes %7d GPUs  %9.0f decisions/s  %9.0f placements/s  p50 %7.2f us  p99 %8.2f us  "
      "placed %d/%d\n",
      name.c_str(), nodes, nodes * 8, decisions / result.seconds, result.placed / result.seconds,
      percentile(result.decision_micros, 0.5), percentile(result.decision_micros, 0.99),
      result.placed, static_cast<int>(decisions));
}

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) values.push_back(std::stoi(item));
  return values;
}

}  // namespace

int main(int argc, char** argv) {
  int requests = argc > 1 ? std::stoi(argv[1]) : 100'000;
  std::vector<int> sizes = parse_list(argc > 2 ? argv[2] : "1000,10000");
  int baseline_limit = argc > 3 ? std::stoi(argv[3]) : 1000;
  auto stream = make_stream(requests, 42);
  for (int size : sizes) {
    auto nodes = make_cluster(size);
    long before = peak_memory_kib();
    {
      PlacementState state(nodes, kNow);
      report("gpupool", size, run(state, stream));
    }
    {
      // As the server runs it: weighing best-fit candidates against the request mix.
      PlacementState state(nodes, kNow);
      state.set_workload(PlacementState::workload_of(stream, 16));
      report("gpupool+fg", size, run(state, stream));
    }
    std::printf("          peak memory %ld MiB (process high-water mark, %+ld MiB for this size)\n",
                peak_memory_kib() / 1024, (peak_memory_kib() - before) / 1024);
    if (size <= baseline_limit) {
      NaiveScheduler naive(nodes);
      report("naive", size, run(naive, stream));
    }
  }
  return 0;
}
