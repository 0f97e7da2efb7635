// The scheduler: a pure function from a snapshot of the pool to a plan.
//
// `schedule(snapshot, now)` does no I/O, reads no clock and keeps no state; the server
// builds the snapshot from its store and applies the returned plan in one transaction.
// Same input, same plan.
//
// Order: priority (higher first), then fair share (less decayed GPU usage of the user's
// groups, then of the user, first), then arrival. Each request is placed by PlacementState (best
// fit, whole GPUs or GPU shares, GPU model, CPU, memory, the image's CUDA against the node's
// driver, host ports). The first request that cannot be placed gets a reservation on the node
// closest to holding it, and later requests backfill only elsewhere, so they never delay it. If the
// first blocked non-preemptible request would fit once some preemptible sessions stop, the plan
// names the fewest such sessions on one node, youngest first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "model/node.hpp"
#include "model/session.hpp"
#include "scheduler/placement_state.hpp"

namespace gpupool::scheduler {

// Resources a session already holds on a node (scheduled, starting, running or stopping).
struct Allocation {
  std::string session_id;
  std::string node;
  std::vector<int> gpu_indices;
  std::int64_t gpu_memory_mb = 0;  // > 0: a share of gpu_indices[0]
  double cpus = 0;
  std::int64_t memory_mb = 0;
  int jupyter_port = 0;
  int ssh_port = 0;
  bool preemptible = false;
  UnixMillis since = 0;    // when it started (or was placed); the youngest are preempted first
  UnixMillis ends_at = 0;  // when its time limit stops it; 0 without one
};

// A quota's limit on whole GPUs of one model (per user or per group). A request that names
// no model is placed only on models whose limits it stays within; placements in one plan
// count against `remaining` in turn.
struct ModelLimit {
  std::string holder;  // "user ada", "group lab": for the queue reason
  std::string gpu_model;
  int limit = 0;
  int remaining = 0;  // limit minus the GPUs of the model placed sessions already hold
};

// A session waiting for placement.
struct PendingRequest {
  std::string session_id;
  SessionRequest request;
  UnixMillis created_at = 0;
  std::string image_cuda;                 // CUDA version the image needs; empty for CPU-only images
  double fair_share_usage = 0;            // the user's decayed GPU-hours; less goes first
  std::vector<std::size_t> model_limits;  // indices into Snapshot::model_limits it falls under
  // The decayed GPU-hours of everyone in the user's groups (the user's own without a group):
  // compared before the user's own, so a busy group's members wait behind a quiet group's.
  double group_fair_share_usage = 0;
  std::string home_node = {};  // holds the user's node-local home: tried first
};

struct Snapshot {
  std::vector<Node> nodes;
  std::vector<Allocation> allocations;
  std::vector<PendingRequest> pending;
  std::vector<ModelLimit> model_limits;
  // The mix of recent requests; when given, placements avoid fragmenting GPUs for it.
  std::vector<WorkloadShape> workload;
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
  QueueReason reason;  // as data; english() or the portal put it into words
  // When it would start if every session ran to its time limit and nothing new arrived
  // (see estimates.hpp); 0 when that cannot be told.
  UnixMillis estimated_start = 0;
  bool held_by_quota = false;  // a per-model quota limit, not the pool, holds it back
};

// A preemptible session to stop so that a blocked non-preemptible one fits.
struct Preemption {
  std::string victim;
  std::string for_session;
  std::string node;
};

struct Plan {
  std::vector<Placement> placements;
  std::vector<QueueEntry> queued;
  std::vector<Preemption> preemptions;
};

Plan schedule(const Snapshot& snapshot, UnixMillis now);

// What a request needs of a node, in the placement step's terms.
Demand demand_of(const SessionRequest& request);
// The same with the image's CUDA need.
Demand demand_of(const PendingRequest& pending);
// What a placed session holds (ports aside: they come with its Assignment).
Demand demand_of(const Allocation& allocation);

// The order in which pending requests are considered (indices into `pending`).
std::vector<std::size_t> queue_order(const std::vector<PendingRequest>& pending);

}  // namespace gpupool::scheduler
