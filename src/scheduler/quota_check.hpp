// Quota checks: whether one more request keeps a user and each of their groups within their
// quotas. Pure; the server runs it and inserts the session in one transaction, so parallel
// requests at quota − 1 cannot both pass.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "model/quota.hpp"
#include "model/session.hpp"

namespace gpupool::scheduler {

// What sessions not yet ended hold against one quota.
struct QuotaUse {
  int gpus = 0;
  int sessions = 0;
  std::int64_t gpu_memory_mb = 0;
  std::map<std::string, int> gpus_by_model;  // whole GPUs per model
};

// `active` are the requests of sessions not yet ended, with gpu_model set to the model of the
// GPUs a placed session holds (a queued one counts under the model it names, if any).
QuotaUse use_of(const std::vector<SessionRequest>& active);

// A quota_exceeded Error naming the quota and the numbers, or success. `request.max_hours`
// is checked against max_session_hours; a request naming a GPU model against that model's
// limit (one naming none is kept within the limits by the scheduler, see ModelLimit).
Status check_quota(const Quota& quota, const QuotaUse& use, const SessionRequest& request);

// The tightest max_session_hours among the quotas, if any.
std::optional<double> session_hours_cap(const std::vector<Quota>& quotas);

}  // namespace gpupool::scheduler
