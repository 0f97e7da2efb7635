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

// What each session's processes use of the node's GPUs, by the driver's accounting.
std::map<std::string, std::int64_t> used_mb_by_session(const std::vector<GpuReading>& readings) {
  std::map<std::string, std::int64_t> used_mb;
  for (const auto& gpu : readings) {
    for (const auto& session : gpu.sessions)
      if (session.memory_used_mb) used_mb[session.session_id] += *session.memory_used_mb;
  }
  return used_mb;
}

}  // namespace

Status SessionService::check_gpu_shares_locked(std::vector<Session>& sessions,
                                               const std::vector<GpuReading>& readings,
                                               UnixMillis now) {
  if (settings_.gpu_share_slack_mb < 0) return {};
  auto used_mb = used_mb_by_session(readings);
  for (auto& session : sessions) {
    // A share holds one GPU, so all its processes' memory is of that one.
    bool share = session.state == SessionState::running && session.request.gpu_memory_mb > 0 &&
                 !session.gpu_indices.empty();
    auto found = used_mb.find(session.id);
    bool over = share && found != used_mb.end() &&
                found->second > session.request.gpu_memory_mb + settings_.gpu_share_slack_mb;
    if (!over) {
      share_overrun_since_.erase(session.id);
      continue;
    }
    UnixMillis since = share_overrun_since_.try_emplace(session.id, now).first->second;
    if (now - since < settings_.gpu_share_overrun_grace) continue;
    share_overrun_since_.erase(session.id);
    Transition next =
        after_share_overrun(session, session.gpu_indices.front(), found->second, since, now);
    if (!next.changed) continue;
    session = std::move(next.session);
    spdlog::warn("session {} of {}: running → stopping ({})", session.id, session.username,
                 session.reason);
    GPUPOOL_TRY(store_.update_session(session));
  }
  return {};
}

}  // namespace gpupool::services
