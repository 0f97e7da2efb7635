#include "services/idle_watch.hpp"

#include <algorithm>

namespace gpupool::services {

void IdleWatch::record(const std::string& session_id,
                       const std::optional<SessionActivity>& activity,
                       std::optional<UnixMillis> last_use, UnixMillis now) {
  std::lock_guard lock(mutex_);
  IdleView& view =
      sessions_.try_emplace(session_id, IdleView{{}, 0, known_from_, {}}).first->second;
  view.activity = activity;
  view.measured_at = now;
  if (!activity) last_use = now;  // not measured yet: never idle on no evidence
  if (last_use) view.last_use = std::max(view.last_use, std::min(*last_use, now));
}

void IdleWatch::set_policy(const std::string& session_id, const IdlePolicy& policy) {
  std::lock_guard lock(mutex_);
  sessions_.try_emplace(session_id, IdleView{{}, 0, known_from_, {}}).first->second.policy = policy;
}

UnixMillis IdleWatch::last_use(const std::string& session_id) const {
  std::lock_guard lock(mutex_);
  auto found = sessions_.find(session_id);
  return found == sessions_.end() ? known_from_ : std::max(known_from_, found->second.last_use);
}

std::optional<IdleView> IdleWatch::view(const std::string& session_id) const {
  std::lock_guard lock(mutex_);
  auto found = sessions_.find(session_id);
  if (found == sessions_.end()) return std::nullopt;
  return found->second;
}

void IdleWatch::forget(const std::string& session_id) {
  std::lock_guard lock(mutex_);
  sessions_.erase(session_id);
}

}  // namespace gpupool::services
