// IdleWatch: what the server knows of each running session's use between syncs — when it was
// last seen in use, the node's latest measurement, and the policy that applied at the last
// check.
//
// Kept in memory, like the GPU telemetry (telemetry_board.hpp): it changes at every sync and
// writing it would cost a commit per session per heartbeat. What must survive a restart (a
// warning, a "keep it", an exemption) is stored on the session; after a restart a session is
// taken to have been in use when the server started, so nobody is reclaimed early for the
// server's own downtime. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "model/idle.hpp"

namespace gpupool::services {

struct IdleView {
  std::optional<SessionActivity> activity;  // the node's latest measurement; empty: none yet
  UnixMillis measured_at = 0;               // when it arrived (the server's clock)
  UnixMillis last_use = 0;                  // last seen in use by any signal (or known_from)
  IdlePolicy policy;                        // as resolved at the last check
};

class IdleWatch {
 public:
  // Use before `known_from` (the server's start) is unknown: it counts as use then at the latest.
  explicit IdleWatch(UnixMillis known_from) : known_from_(known_from) {}

  // A sync's report on a running session: its measurement (empty when the agent has none yet,
  // which counts as use) seen at `now`, with `last_use` from idle_rules' last_use_in.
  void record(const std::string& session_id, const std::optional<SessionActivity>& activity,
              std::optional<UnixMillis> last_use, UnixMillis now);
  void set_policy(const std::string& session_id, const IdlePolicy& policy);
  // When the session was last seen in use; `known_from` when not since.
  UnixMillis last_use(const std::string& session_id) const;
  std::optional<IdleView> view(const std::string& session_id) const;
  // Drops what it holds of a session that is no longer running.
  void forget(const std::string& session_id);

 private:
  const UnixMillis known_from_;
  mutable std::mutex mutex_;
  std::map<std::string, IdleView> sessions_;  // guarded by mutex_
};

}  // namespace gpupool::services
