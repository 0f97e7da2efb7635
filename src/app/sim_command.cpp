#include "app/sim_command.hpp"

#include <chrono>
#include <cmath>
#include <iostream>
#include <optional>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "sim/fragmentation.hpp"
#include "sim/replay.hpp"

namespace gpupool::app {

namespace {

std::optional<sim::Policy> parse_policy(const std::string& name) {
  for (auto policy : {sim::Policy::random, sim::Policy::first_fit, sim::Policy::best_fit,
                      sim::Policy::fgd, sim::Policy::gpupool}) {
    if (sim::to_string(policy) == name) return policy;
  }
  return std::nullopt;
}

struct Trace {
  std::vector<sim::TraceNode> nodes;
  std::vector<sim::TracePod> pods;
};

// The trace's nodes.csv and jobs.csv; prints why and returns nothing when either is unreadable.
std::optional<Trace> load_trace(const std::string& dir) {
  auto nodes = sim::read_trace_nodes(dir + "/nodes.csv");
  auto pods = sim::read_trace_pods(dir + "/jobs.csv");
  if (!nodes || !pods) {
    std::cerr << "error: " << (!nodes ? nodes.error().message : pods.error().message) << "\n";
    return std::nullopt;
  }
  return Trace{std::move(*nodes), std::move(*pods)};
}

}  // namespace

int run_sim_fragmentation(const SimOptions& options) {
  auto trace = load_trace(options.trace_dir);
  if (!trace) return 1;
  const auto& nodes = trace->nodes;
  const auto& pods = trace->pods;
  std::vector<sim::Policy> policies;
  std::stringstream list(options.policies);
  for (std::string name; std::getline(list, name, ',');) {
    auto policy = parse_policy(name);
    if (!policy) {
      std::cerr << "error: unknown policy \"" << name
                << "\" (random, first-fit, best-fit, fgd, gpupool)\n";
      return 1;
    }
    policies.push_back(*policy);
  }
  std::cout << fmt::format(
      "{} nodes, {} pods; {} seeds; unallocated GPU share when arrivals reach 100% of capacity\n",
      nodes.size(), pods.size(), options.seeds);
  std::cout << fmt::format("{:<10} {:>10} {:>8} {:>12} {:>10}\n", "policy", "mean %", "sd %",
                           "placed/pods", "seconds");
  for (auto policy : policies) {
    auto start = std::chrono::steady_clock::now();
    std::vector<double> values;
    double placed = 0;
    double arrived = 0;
    for (int seed = 1; seed <= options.seeds; ++seed) {
      auto result = sim::run_fragmentation(nodes, pods, policy, static_cast<unsigned>(seed));
      values.push_back(100.0 * result.unallocated_at_full);
      placed += result.pods_placed;
      arrived += result.pods_arrived;
    }
    double mean = 0;
    for (double value : values) mean += value / static_cast<double>(values.size());
    double variance = 0;
    for (double value : values) variance += (value - mean) * (value - mean);
    double sd =
        values.size() > 1 ? std::sqrt(variance / static_cast<double>(values.size() - 1)) : 0;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << fmt::format("{:<10} {:>10.2f} {:>8.2f} {:>12.3f} {:>10.1f}\n",
                             sim::to_string(policy), mean, sd, placed / arrived, seconds)
              << std::flush;
  }
  return 0;
}

int run_sim_replay(const SimOptions& options) {
  auto trace = load_trace(options.trace_dir);
  if (!trace) return 1;
  const auto& nodes = trace->nodes;
  const auto& pods = trace->pods;
  auto sample = sim::sample_nodes(nodes, options.replay_nodes);
  int gpus = 0;
  for (const auto& node : sample) gpus += node.gpus;
  std::cout << fmt::format(
      "{} nodes ({} GPUs) sampled from the trace's {}; pods in submission order with their "
      "durations\n",
      sample.size(), gpus, nodes.size());
  std::cout << fmt::format("{:<17} {:>6} {:>8} {:>11} {:>12} {:>12} {:>12} {:>7} {:>12} {:>12}\n",
                           "queue", "pods", "started", "allocation", "mean delay s", "p50 delay s",
                           "p90 delay s", "large", "large mean s", "large p90 s");
  for (auto policy : {sim::QueuePolicy::fifo_first_fit, sim::QueuePolicy::greedy_first_fit,
                      sim::QueuePolicy::gpupool}) {
    auto result = sim::run_replay(sample, pods, policy);
    std::cout << fmt::format(
                     "{:<17} {:>6} {:>8} {:>10.1f}% {:>12.0f} {:>12.0f} {:>12.0f} {:>7} {:>12.0f} "
                     "{:>12.0f}\n",
                     sim::to_string(policy), result.pods, result.started,
                     100 * result.allocation_rate, result.delay.mean_s, result.delay.p50_s,
                     result.delay.p90_s, result.large_delay.pods, result.large_delay.mean_s,
                     result.large_delay.p90_s)
              << std::flush;
  }
  return 0;
}

}  // namespace gpupool::app
