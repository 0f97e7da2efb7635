// Session: one user's container with GPUs, from request to end. Plain data, no behaviour
// beyond naming its states.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "model/queue_reason.hpp"

namespace gpupool {

// queued → scheduled → starting → running → stopping → ended (design.md).
enum class SessionState { queued, scheduled, starting, running, stopping, ended };

enum class EndReason {
  none,
  user_stopped,
  time_limit,
  idle_reclaimed,
  balance_exhausted,
  admin_stopped,
  failed,
  node_lost,
  preempted,
  gpu_share_exceeded,  // its processes used more of a shared GPU than its share (and slack)
};

std::string_view to_string(SessionState state);
std::optional<SessionState> parse_session_state(std::string_view text);
std::string_view to_string(EndReason reason);
std::optional<EndReason> parse_end_reason(std::string_view text);

// How long before its time limit a session's owner is warned.
inline constexpr UnixMillis kTimeLimitWarningMillis = 15 * 60 * 1000;

// True while the session holds (or may hold) resources on a node.
bool holds_resources(SessionState state);

// What the user asked for, already validated.
struct SessionRequest {
  std::string image_tag;
  int gpus = 1;
  std::string gpu_model;           // empty: any model
  std::int64_t gpu_memory_mb = 0;  // > 0: a share of one GPU (shared mode), not whole GPUs
  int priority = 0;                // higher is served first
  bool preemptible = false;        // may be stopped to make room for a non-preemptible request
  std::map<std::string, std::string> node_selector;  // only nodes with all these labels
  double cpus = 2;
  std::int64_t memory_mb = 8192;
  std::optional<double> max_hours;
};

// Whether the request holds a GPU, whole or shared; false: a session without one (set-up work
// at the CPU price).
inline bool uses_gpu(const SessionRequest& request) {
  return request.gpus > 0 || request.gpu_memory_mb > 0;
}

struct Session {
  std::string id;
  std::int64_t user_id = 0;
  std::string username;
  int uid = 0;  // the user's Linux uid inside the container
  int gid = 0;  // their Linux group id there; 0: the same as uid
  SessionRequest request;
  std::string image_reference;  // engine reference resolved from the catalog at request time
  // The roll-out family the request named (model/rollout.hpp); "" when it named an image.
  std::string image_family = {};
  SessionState state = SessionState::queued;
  EndReason end_reason = EndReason::none;
  // Why it is queued, why it ended, or what befell its container while running; in words
  // (English).
  std::string reason;
  std::optional<QueueReason> queue_reason;  // why it is queued, as data (after a pass)
  std::string node;                         // empty until scheduled
  std::vector<int> gpu_indices;
  std::vector<std::string> gpu_uuids;
  int jupyter_port = 0;
  int ssh_port = 0;
  std::string jupyter_token;
  std::string ssh_host_key;  // the container's SSH host public key, once reported
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
  UnixMillis started_at = 0;  // when it became running; 0 before
  UnixMillis ended_at = 0;    // 0 until ended
  UnixMillis preempt_at = 0;  // chosen to make room: the agent is told to stop it at this time
  // Its container stopped without being asked and is being started again since this time
  // (0: up). Time down is not billed: down_millis sums the downs that are over.
  UnixMillis down_since = 0;
  std::int64_t down_millis = 0;
  int restarts = 0;             // times its container came back
  UnixMillis restarted_at = 0;  // when it last came back
  // Where the user's node-local home was when it was placed (that node was preferred); empty
  // when homes are shared or it was their first session.
  std::string home_node;
  // With SSH through the gateway (--ssh-gateway-ports): its port there; 0 when none.
  int gateway_ssh_port = 0;
  // The meter, fixed when the session is placed: a later price change does not reach back
  // into a session already given its GPUs. It runs while the session is running.
  std::string billed_gpu_model;
  double billed_gpus = 0;  // whole GPUs, or a share's fraction of its GPU's memory
  std::int64_t rate_micros_per_hour = 0;
  // Idle reclaim (services/idle_rules.hpp): when its owner was warned that it sits unused (0:
  // not warned), when they last said "keep it" and how often, and an admin's exemption.
  UnixMillis idle_warned_at = 0;
  UnixMillis idle_kept_at = 0;
  int idle_keeps = 0;
  bool idle_exempt = false;
  bool limit_warned = false;  // its owner was told its time limit is near
  // GPU-seconds it used: its billed GPUs × their utilisation × time, as measured at syncs
  // (services/gpu_use_meter.hpp). Read only: the store adds to it, update_session keeps it.
  double gpu_busy_seconds = 0;
};

}  // namespace gpupool
