// What the scheduler and the meter are given about sessions the store holds: each placed
// session's allocation, fair-share usage from the session history, the recent workload mix,
// and the meter fixed at placement. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "model/node.hpp"
#include "model/price.hpp"
#include "model/session.hpp"
#include "scheduler/schedule.hpp"

namespace gpupool::services {

// What a session holding resources holds, as the scheduler sees it.
scheduler::Allocation allocation_of(const Session& session);

// Each user's decayed GPU-hours (half of it forgotten every `half_life`), by user id.
std::map<std::int64_t, double> fair_share_usage(const std::vector<Session>& history,
                                                const std::vector<Node>& nodes, UnixMillis now,
                                                UnixMillis half_life);

// The mix of the most recent requests, so placements keep GPUs usable for what users ask.
std::vector<scheduler::WorkloadShape> workload_of(const std::vector<Session>& history);

// The node holding a user's node-local home: the first of `recent_nodes` (their latest
// sessions' nodes, newest first) still in the pool whose homes are not shared; "" if none.
std::string home_node_of(const std::vector<std::string>& recent_nodes,
                         const std::vector<Node>& nodes);

// The lowest port of [low, high] not in `taken`; 0 when every one is.
int free_port(const std::set<int>& taken, std::pair<int, int> range);

// Fixes a just-placed session's rate from its GPUs' model and today's price.
void start_meter(Session& session, const std::vector<Node>& nodes,
                 const std::vector<Price>& prices);

}  // namespace gpupool::services
