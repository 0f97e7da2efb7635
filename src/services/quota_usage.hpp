// What the quotas see of the sessions not yet ended, read from the store: who a quota
// covers, what they hold (by GPU model), and the per-model limits the scheduler must keep
// queued requests within.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "model/node.hpp"
#include "model/quota.hpp"
#include "model/session.hpp"
#include "scheduler/schedule.hpp"
#include "store/store.hpp"

namespace gpupool::services {

// The users a quota covers: its user, or every member of its group.
Result<std::set<std::int64_t>> quota_subjects(Store& store, const Quota& quota);

// The requests of `active` sessions of `subjects`, each with gpu_model set to the model of
// the GPUs it holds once placed (a queued one keeps the model it names). With
// `placed_only`, queued sessions are left out.
std::vector<SessionRequest> held_requests(const std::vector<Session>& active,
                                          const std::vector<Node>& nodes,
                                          const std::set<std::int64_t>& subjects, bool placed_only);

// Adds to the snapshot the per-model quota limits that its pending requests fall under;
// `pending_users[i]` is the user of snapshot.pending[i].
Status add_model_limits(Store& store, const std::vector<Session>& active,
                        const std::vector<std::int64_t>& pending_users,
                        scheduler::Snapshot& snapshot);

}  // namespace gpupool::services
