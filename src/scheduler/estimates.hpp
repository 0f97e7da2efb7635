// Start estimates for the queue: when, if nothing new arrives and every session runs to its
// time limit, each queued request would start.
//
// Replays the future in the scheduler's own terms: sessions with time limits end in order;
// after each end the queue is placed again in its order, the first request that does not
// fit keeping its reservation; a request that starts ends at its own time limit in turn.
// Requests that would only start once a session without a time limit ends get no estimate.
#pragma once

#include "scheduler/placement_state.hpp"
#include "scheduler/schedule.hpp"

namespace gpupool::scheduler {

// Bounds on the replay, so that a long queue costs the scheduler little.
inline constexpr std::size_t kEstimatedRequests = 200;
inline constexpr std::size_t kEstimateEvents = 2000;

// Fills estimated_start of plan.queued (those not held by a quota). `state` is the pool after
// the plan's placements.
void estimate_starts(const Snapshot& snapshot, const PlacementState& state, Plan& plan);

}  // namespace gpupool::scheduler
