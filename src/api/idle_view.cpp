// The idle block of a session's view (views.hpp): what idle reclaim knows of a running session.
#include <fmt/format.h>

#include <algorithm>

#include "api/views.hpp"
#include "core/json_input.hpp"
#include "services/session_lifecycle.hpp"

namespace gpupool::api {

using nlohmann::json;

namespace {

json signals_view(const IdleView& idle, UnixMillis now) {
  if (!idle.activity) return nullptr;
  const SessionActivity& activity = *idle.activity;
  json quiet = nullptr;
  if (activity.jupyter_quiet_millis) quiet = *activity.jupyter_quiet_millis / 1000;
  json cores = nullptr;
  if (activity.cpu_cores) cores = std::round(*activity.cpu_cores * 100) / 100;
  return {{"measured_seconds_ago", std::max<UnixMillis>(0, now - idle.measured_at) / 1000},
          {"cpu_cores", cores},
          {"gpu_utilization_percent", optional_json(activity.gpu_utilization_percent)},
          {"kernels", activity.kernels},
          {"busy_kernels", activity.busy_kernels},
          {"terminals", activity.terminals},
          {"jupyter_quiet_seconds", quiet},
          {"ssh_connections", optional_json(activity.ssh_connections)}};
}

}  // namespace

json idle_view(const Session& session, const ViewContext& context, UnixMillis now) {
  if (session.state != SessionState::running || context.idle == nullptr) return nullptr;
  auto idle = context.idle->view(session.id);
  if (!idle) return nullptr;
  const IdlePolicy& policy = idle->policy;
  UnixMillis since = services::idle_since(session, context.idle->last_use(session.id));
  bool never = policy.window <= 0 || policy.exempt || session.idle_exempt;
  json reclaim_at = nullptr;
  if (!never) {
    UnixMillis warn_at =
        session.idle_warned_at != 0 ? session.idle_warned_at : since + policy.window;
    reclaim_at = format_rfc3339(std::max(now, warn_at + policy.grace));
  }
  return {{"policy",
           {{"window_seconds", policy.window / 1000},
            {"grace_seconds", policy.grace / 1000},
            {"keeps", policy.keeps},
            {"exempt", policy.exempt}}},
          {"exempt", session.idle_exempt},
          {"reclaimable", !never},
          {"last_used_at", format_rfc3339(since)},
          {"idle_seconds", std::max<UnixMillis>(0, now - since) / 1000},
          {"warned_at", session.idle_warned_at == 0 ? json(nullptr)
                                                    : json(format_rfc3339(session.idle_warned_at))},
          {"reclaim_at", reclaim_at},
          {"keeps_used", session.idle_keeps},
          {"keeps_left", std::max(0, policy.keeps - session.idle_keeps)},
          {"signals", signals_view(*idle, now)}};
}

std::string idle_warning(const Session& session, const ViewContext& context) {
  if (session.state != SessionState::running || session.idle_warned_at == 0) return "";
  UnixMillis grace = 0;
  if (context.idle != nullptr) {
    if (auto idle = context.idle->view(session.id)) grace = idle->policy.grace;
  }
  return fmt::format(
      "this session has not been used lately and will be reclaimed at {} (its home is kept); "
      "use it, or say \"keep it\" (gpupool keep {})",
      format_rfc3339(session.idle_warned_at + grace), session.id);
}

}  // namespace gpupool::api
