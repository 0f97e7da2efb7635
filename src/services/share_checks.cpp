// SessionService: the backstop behind the GPU-memory cap. The cap is a library in the
// session's processes (docs/gpu.md), so a program that does not load it — statically linked,
// making the driver's ioctls itself — can take a shared GPU's memory from its neighbours. The
// driver's own accounting, which each sync carries per session, cannot be got around that
// way: a share session found over its share, and the slack the driver may take beside it, for
// longer than the grace, is stopped.
#include "core/log.hpp"
#include "services/session_service.hpp"

namespace gpupool::services {

namespace {

struct ShareUse {
  int gpu_index = 0;
  std::int64_t used_mb = 0;
};

// What each session's processes use of the node's GPUs, by the driver's accounting.
std::map<std::string, ShareUse> use_by_session(const std::vector<GpuReading>& readings) {
  std::map<std::string, ShareUse> use;
  for (const auto& gpu : readings) {
    for (const auto& session : gpu.sessions) {
      if (!session.memory_used_mb) continue;
      ShareUse& entry = use[session.session_id];
      if (*session.memory_used_mb >= entry.used_mb) entry.gpu_index = gpu.index;
      entry.used_mb += *session.memory_used_mb;
    }
  }
  return use;
}

}  // namespace

Status SessionService::check_gpu_shares_locked(std::vector<Session>& sessions,
                                               const std::vector<GpuReading>& readings,
                                               UnixMillis now) {
  if (settings_.gpu_share_slack_mb < 0) return {};
  auto use = use_by_session(readings);
  for (auto& session : sessions) {
    bool share = session.state == SessionState::running && session.request.gpu_memory_mb > 0;
    auto found = use.find(session.id);
    bool over =
        share && found != use.end() &&
        found->second.used_mb > session.request.gpu_memory_mb + settings_.gpu_share_slack_mb;
    if (!over) {
      share_overrun_since_.erase(session.id);
      continue;
    }
    UnixMillis since = share_overrun_since_.try_emplace(session.id, now).first->second;
    if (now - since < settings_.gpu_share_overrun_grace) continue;
    share_overrun_since_.erase(session.id);
    Transition next =
        after_share_overrun(session, found->second.gpu_index, found->second.used_mb, since, now);
    if (!next.changed) continue;
    session = std::move(next.session);
    spdlog::warn("session {} of {}: running → stopping ({})", session.id, session.username,
                 session.reason);
    GPUPOOL_TRY(store_.update_session(session));
  }
  return {};
}

}  // namespace gpupool::services
