// The scheduler: a pure function from a snapshot of the pool to a plan.
//
// `schedule(snapshot, now)` does no I/O, reads no clock and keeps no state; the server
// builds the snapshot from its store and applies the returned plan in one transaction.
// Same input, same plan. This is the minimal whole-GPU placement; fractional GPUs,
// topology, fair share and quotas build on the same shape.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "model/node.hpp"
#include "model/session.hpp"

namespace gpupool::scheduler {

// Nodes silent for longer than this are not given new sessions.
inline constexpr UnixMillis kNodeSilenceLimitMillis = 60'000;

// Resources a session already holds on a node (scheduled, starting, running or stopping).
struct Allocation {
  std::string session_id;
  std::string node;
  std::vector<int> gpu_indices;
  int jupyter_port = 0;
  int ssh_port = 0;
};

// A session waiting for placement.
struct PendingRequest {
  std::string session_id;
  SessionRequest request;
  UnixMillis created_at = 0;
};

struct Snapshot {
  std::vector<Node> nodes;
  std::vector<Allocation> allocations;
  std::vector<PendingRequest> pending;
};

struct Placement {
  std::string session_id;
  std::string node;
  std::vector<int> gpu_indices;
  std::vector<std::string> gpu_uuids;
  int jupyter_port = 0;
  int ssh_port = 0;
};

struct QueueEntry {
  std::string session_id;
  int position = 0;    // 1-based place in the queue
  std::string reason;  // in words, for the user
};

struct Plan {
  std::vector<Placement> placements;
  std::vector<QueueEntry> queued;
};

Plan schedule(const Snapshot& snapshot, UnixMillis now);

}  // namespace gpupool::scheduler
