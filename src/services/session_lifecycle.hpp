// The session lifecycle as pure functions: given a session, what happened and the time,
// the session as it must be stored next. No store, no clock, no logging: SessionService
// applies what these return, in the transaction of the event that caused it.
//
//   queued ──placed──► scheduled ──agent: starting──► starting ──agent: running──► running
//     │                    │                              │                          │
//     └─stop──► ended      └──────── stop, preemption, time limit, balance ──────────┴─► stopping
//                          running: container stopped ─► running, down (unbilled) until back
//                          any holding state: container failed or gone ─► ended (failed)
//                          stopping: container gone ─► ended (with the reason it stopped for)
//                          any holding state: node silent past the grace ─► ended (node_lost)
//                          running: unused for the idle window ─► warned ─► unused for the
//                          grace too ─► stopping (idle_reclaimed); used again or kept ─► not warned
//
// Which states hold resources is holds_resources() (model/session.hpp).
#pragma once

#include <string>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "model/idle.hpp"
#include "model/session.hpp"
#include "model/sync.hpp"

namespace gpupool::services {

// A session after an event, and what storing it implies.
struct Transition {
  Session session;
  bool changed = false;           // a stored field changed: write it
  bool ended = false;             // it has just ended: charge it, in the same transaction
  bool ignored_host_key = false;  // the agent reported a malformed SSH host key (not kept)
  bool idle_warned = false;       // its owner is to be warned that it will be reclaimed
  bool limit_warned = false;      // its owner is to be told its time limit is near
};

// One session's part of a node's report.
struct SyncFacts {
  // This session's entry, or null when the report does not list it: the agent reports every
  // container it has, so absence means the container is gone.
  const ObservedSession* observed = nullptr;
  UnixMillis now = 0;
  UnixMillis last_report = 0;  // the node's report before this one; 0: none
};

// A node's agent reported its containers. A container that stopped on its own is either
// being started again (the session stays running, unbilled while down, and says so in its
// reason) or failed (the session ends when the container stopped). Also applies a
// preemption whose time has come and the time limit (its owner told once, in its last
// kTimeLimitWarningMillis).
Transition after_sync(const Session& session, const SyncFacts& facts);

// The owner (user_stopped) or an admin (admin_stopped) stops it: a queued session ends at
// once; one holding resources stops (they stay held until its container is gone); one
// already stopping or ended is left as it is.
Transition after_stop(const Session& session, EndReason reason, UnixMillis now);

// Its node stopped syncing at `silent_since` and has stayed silent past the grace period:
// whatever it held ends then (billing stops when the node went silent), as node_lost — or,
// when it was stopping anyway, with the reason it was stopping for.
Transition after_node_lost(const Session& session, const std::string& node, UnixMillis silent_since,
                           UnixMillis now);

// Its owner's prepaid balance ran out: a running, priced session starts stopping.
Transition after_balance_exhausted(const Session& session, UnixMillis now);

// A running share session whose processes have used `used_mb` of GPU `gpu_index` since
// `over_since`, more than its share and the slack the driver may take beside it: something
// got around the cap (docs/gpu.md), and its neighbours' memory is at stake. It starts stopping.
Transition after_share_overrun(const Session& session, int gpu_index, std::int64_t used_mb,
                               UnixMillis over_since, UnixMillis now);

// The scheduler placed it (the placement's node, GPUs and ports already copied in).
Transition after_placement(const Session& session, UnixMillis now);

// The scheduler kept it queued for `reason` (with its place and estimate filled in); stored
// only when that changed.
Transition after_queue_update(const Session& session, const QueueReason& reason, UnixMillis now);

// The scheduler chose it to make room (`chosen`), or no longer needs it stopped: it is
// stopped at now + grace by after_sync, unless unchosen before then.
Transition after_preemption_choice(const Session& session, bool chosen, UnixMillis grace,
                                   UnixMillis now);

// The idle rules at `now` for a running session last seen in use at `last_use` (the server's
// knowledge of it: the start, a restart or a "keep it" count as use too). Unused for the
// policy's window: warned; warned and unused for its grace: stopping as idle_reclaimed. Used
// again after a warning, exempt, or under a policy that never reclaims: the warning is lifted.
Transition after_idle_check(const Session& session, const IdlePolicy& policy, UnixMillis last_use,
                            UnixMillis now);

// Its owner says "keep it": the idle window starts again and a warning is lifted, at most
// `policy.keeps` times per session. A conflict when it is not running or has no keeps left.
Result<Transition> after_keep(const Session& session, const IdlePolicy& policy, UnixMillis now);

// When the session was last in use as far as the server knows: the latest of `last_use`, its
// start, its container's last restart and its owner's last "keep it".
UnixMillis idle_since(const Session& session, UnixMillis last_use);

// Whether a running session has passed its time limit at `now`.
bool past_time_limit(const Session& session, UnixMillis now);

}  // namespace gpupool::services
