// Time-ordered replay of the Alibaba trace on a scaled-down cluster: pods arrive at their
// submission times and run for their recorded durations; a queue policy decides who starts
// when. Reports the GPU allocation rate (time-averaged allocated share of the GPUs) and the
// queueing delay (submission to start). Pure and deterministic.
#pragma once

#include <string_view>
#include <vector>

#include "sim/trace.hpp"

namespace gpupool::sim {

enum class QueuePolicy {
  // Strict arrival order: the head goes to the first node that fits; nobody passes it.
  fifo_first_fit,
  // Arrival order and first fit, but whoever fits passes a blocked head.
  greedy_first_fit,
  // scheduler::schedule: best fit, fragmentation-aware, backfill behind a reservation.
  gpupool,
};

std::string_view to_string(QueuePolicy policy);

// Queueing delay (submission to start) of a set of pods; pods never started count until the
// replay's end.
struct DelayStats {
  int pods = 0;
  double mean_s = 0;
  double p50_s = 0;
  double p90_s = 0;
};

// Pods asking for at least this many whole GPUs are "large": the ones a queue that lets
// small pods pass can starve.
inline constexpr int kLargePodGpus = 2;

struct ReplayResult {
  int pods = 0;
  int started = 0;             // the rest were still queued when the trace ended
  double allocation_rate = 0;  // mean allocated GPU share over the replay
  DelayStats delay;            // all pods
  DelayStats large_delay;      // pods of kLargePodGpus or more whole GPUs
};

// Every `stride`-th node of the trace's node list (keeping its mix of models) and the pods
// that were scheduled in the original cluster.
std::vector<TraceNode> sample_nodes(const std::vector<TraceNode>& nodes, int count);

ReplayResult run_replay(const std::vector<TraceNode>& nodes, const std::vector<TracePod>& pods,
                        QueuePolicy policy);

}  // namespace gpupool::sim
