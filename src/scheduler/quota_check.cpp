#include "scheduler/quota_check.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace gpupool::scheduler {

namespace {

std::string subject(const Quota& quota) {
  return fmt::format("{} {}", quota.scope == QuotaScope::user ? "user" : "group",
                     quota.subject_name);
}

Error exceeded(std::string message) {
  return make_error(ErrorCode::quota_exceeded, std::move(message));
}

}  // namespace

QuotaUse use_of(const std::vector<SessionRequest>& active) {
  QuotaUse use;
  for (const auto& request : active) {
    ++use.sessions;
    if (request.gpu_memory_mb > 0) {
      use.gpu_memory_mb += request.gpu_memory_mb;
    } else {
      use.gpus += request.gpus;
      if (!request.gpu_model.empty()) use.gpus_by_model[request.gpu_model] += request.gpus;
    }
  }
  return use;
}

Status check_quota(const Quota& quota, const QuotaUse& use, const SessionRequest& request) {
  if (quota.max_sessions && use.sessions + 1 > *quota.max_sessions) {
    return exceeded(fmt::format("{} may have {} session{} at once and has {}", subject(quota),
                                *quota.max_sessions, *quota.max_sessions == 1 ? "" : "s",
                                use.sessions));
  }
  bool share = request.gpu_memory_mb > 0;
  if (!share && quota.max_gpus && use.gpus + request.gpus > *quota.max_gpus) {
    return exceeded(fmt::format("{} may hold {} GPUs at once; {} in use, {} asked", subject(quota),
                                *quota.max_gpus, use.gpus, request.gpus));
  }
  if (!share && !request.gpu_model.empty()) {
    auto limit = quota.max_gpus_by_model.find(request.gpu_model);
    auto used = use.gpus_by_model.find(request.gpu_model);
    int in_use = used == use.gpus_by_model.end() ? 0 : used->second;
    if (limit != quota.max_gpus_by_model.end() && in_use + request.gpus > limit->second) {
      return exceeded(fmt::format("{} may hold {} {} GPUs at once; {} in use, {} asked",
                                  subject(quota), limit->second, request.gpu_model, in_use,
                                  request.gpus));
    }
  }
  if (share && quota.max_gpu_memory_mb &&
      use.gpu_memory_mb + request.gpu_memory_mb > *quota.max_gpu_memory_mb) {
    return exceeded(fmt::format(
        "{} may hold {:g} GB of shared GPU memory at once; {:g} GB in use, {:g} GB asked",
        subject(quota), static_cast<double>(*quota.max_gpu_memory_mb) / 1024,
        static_cast<double>(use.gpu_memory_mb) / 1024,
        static_cast<double>(request.gpu_memory_mb) / 1024));
  }
  if (quota.max_session_hours && request.max_hours &&
      *request.max_hours > *quota.max_session_hours) {
    return exceeded(fmt::format("{} sessions may run at most {:g} hours", subject(quota),
                                *quota.max_session_hours));
  }
  return {};
}

std::optional<double> session_hours_cap(const std::vector<Quota>& quotas) {
  std::optional<double> cap;
  for (const auto& quota : quotas) {
    if (quota.max_session_hours)
      cap = cap ? std::min(*cap, *quota.max_session_hours) : *quota.max_session_hours;
  }
  return cap;
}

}  // namespace gpupool::scheduler
