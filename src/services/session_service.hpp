// SessionService: the session lifecycle on the server, and the server side of agent sync.
//
// Requests are validated against the catalog and the pool, stored as `queued`, and the pure
// scheduler places them; every state change is one store transaction. Agents report what
// they observe and get back their node's desired sessions. Thread-safe: one mutex
// serializes lifecycle changes so that the scheduler always sees a consistent snapshot.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "catalog/registry_logins.hpp"
#include "core/clock.hpp"
#include "core/histogram.hpp"
#include "core/result.hpp"
#include "model/sync.hpp"
#include "scheduler/schedule.hpp"
#include "services/accounts.hpp"
#include "services/gpu_use_meter.hpp"
#include "services/idle_rules.hpp"
#include "services/idle_watch.hpp"
#include "services/image_saves.hpp"
#include "services/rollouts.hpp"
#include "services/session_lifecycle.hpp"
#include "services/unknown_containers.hpp"
#include "slurm/slurm_job.hpp"
#include "store/store.hpp"

namespace gpupool::services {

struct ModelCapacity {
  std::string model;
  std::int64_t memory_mb = 0;
  int total = 0;
  int free = 0;                     // GPUs with no session, on usable nodes
  int shared = 0;                   // GPUs in shared mode
  std::int64_t free_memory_mb = 0;  // on free and shared GPUs: what shares can still get
};

struct PoolSummary {
  std::vector<Node> nodes;
  std::vector<bool> node_live;
  std::vector<int> node_free_gpus;
  std::vector<ModelCapacity> models;
  int queue_length = 0;
  bool simulated = false;
};

// Slurm's view, for slurm_sync(): gpupool's jobs, and the cluster's nodes as pool nodes.
struct SlurmReport {
  std::vector<slurm::SlurmJob> jobs;
  std::vector<Node> nodes;
};
struct SlurmOrders {
  std::vector<Session> submit;
  std::vector<std::int64_t> cancel;
};
// What a session's job reports once its Jupyter answers.
struct SlurmEndpoint {
  int jupyter_port = 0;
  int ssh_port = 0;  // 0: no SSH in this image
  std::string ssh_host_key;
};

struct SessionSettings {
  // Fair share forgets half of a user's (and a group's) GPU usage every this often.
  UnixMillis fair_share_half_life = 24LL * 3600 * 1000;
  // How long a preemptible session chosen to make room keeps running (to save its work).
  UnixMillis preemption_grace = 60 * 1000;
  // Balances must cover what sessions cost (accounts.hpp); false lets them go below zero.
  bool prepaid = true;
  // Requests one user may have waiting at once, quotas or not: each pass of the scheduler
  // looks at every waiting request. 0: no limit.
  int max_queued_per_user = 16;
  // A node silent this long has lost its sessions: they end as node_lost, billed up to when
  // it went silent (its GPUs stay fenced until its agent is back and has removed them).
  UnixMillis node_lost_after = 5 * 60 * 1000;
  // Whether there is room for one more session (the data disk's watermark); unset: always.
  std::function<Status()> room_for_new_sessions;
  // For the registries catalog images come from: a node is sent the login for a session's
  // image with that session only.
  catalog::RegistryLogins registry_logins;
  // Catalog images every node pulls ahead of need, with their registries' logins (made once,
  // at start: every sync hands them out).
  std::vector<ImageToPull> prepull;
  // Sessions run as Slurm jobs (slurm_sync.cpp): Slurm places them, gpupool's scheduler does
  // not, and nodes are Slurm's (never "silent": Slurm says when one fails).
  bool slurm = false;
  // Sessions saved as images: where to, and how large (image_saves.hpp).
  ImageSaveSettings image_saves;
  // SSH through the gateway host: each placed session gets a port of [low, high] there,
  // forwarded to its SSH port on its node. 0, 0: users reach nodes directly.
  std::pair<int, int> gateway_ssh_ports = {0, 0};
  // Which of a family's images a new session gets (rollouts.hpp); unset: the service's own
  // roll-outs with a fair die.
  PercentDice rollout_dice;
  // GPU memory a share session's processes may use beyond their share before it is stopped
  // (share_checks.cpp): what the driver takes for contexts and modules, which the cap does
  // not count. Negative: never stopped. And for how long the overrun must last.
  std::int64_t gpu_share_slack_mb = 1536;
  UnixMillis gpu_share_overrun_grace = 10 * 1000;
  // Idle reclaim: the policy where no user or group rule says otherwise, and what counts as
  // quiet (idle_rules.hpp).
  IdlePolicy idle_defaults = {2 * 3600 * 1000, 15 * 60 * 1000, 3, false};
  IdleThresholds idle_thresholds;
  // Owners are told when their balance falls below this, unless they chose their own
  // threshold (model/notification.hpp's NotifySettings); 0: only those who chose one.
  std::int64_t balance_low_micros = 0;
};

// What /metrics shows of the service's own work; filled as it goes, from any thread.
struct SessionMetrics {
  Histogram queue_wait{kWaitBuckets};          // request to placement, seconds
  Histogram scheduling_pass{kLatencyBuckets};  // one pass of the scheduler with its writes
  Histogram sync{kLatencyBuckets};             // applying one agent's report and answering
};

// An Idempotency-Key sent with a session request, and a digest of the request it came with.
struct RequestKey {
  std::string key;             // empty: none
  std::string request_digest;  // the same key with another request is refused
};

struct RequestedSession {
  Session session;
  bool replayed = false;  // an earlier request with the same key made it
};

// How long a request's key is remembered: retries come within seconds, a day is ample.
inline constexpr UnixMillis kRequestKeyLifetime = 24LL * 3600 * 1000;

class SessionService {
 public:
  SessionService(Store& store, const Clock& clock, SessionSettings settings = {})
      : store_(store),
        clock_(clock),
        settings_(std::move(settings)),
        accounts_(store, settings_.prepaid),
        rollouts_(store, clock, nullptr, settings_.rollout_dice),
        started_at_(clock.now()),
        idle_(started_at_) {}

  Result<Session> request_session(const User& user, SessionRequest request);
  // The same, once per key: a request repeating an earlier one's key (within a day) gets the
  // session that one made, whatever state it is in now; with another request, a conflict.
  Result<RequestedSession> request_session(const User& user, SessionRequest request,
                                           const RequestKey& key);
  // Sessions the caller may see: their own; with `everyone`, all (admins only).
  Result<std::vector<Session>> list_sessions(const User& user, bool everyone);
  // Another user's session is not_found, never forbidden: its existence is not revealed.
  Result<Session> get_session(const User& user, const std::string& id);
  Result<Session> stop_session(const User& user, const std::string& id);

  Result<SyncResponse> sync(const SyncRequest& request);
  // The node's desired state as sync() would answer it, without applying the report again (a
  // held sync's answer once its node's state moved).
  Result<SyncResponse> desired_for(const SyncRequest& request);
  // Each of `nodes`' desired-state fingerprint (SyncResponse::state), read in one pass.
  Result<std::map<std::string, std::string>> desired_states(const std::set<std::string>& nodes);
  // Runs the scheduler now, e.g. after an admin changed what nodes offer.
  Status reschedule();
  Result<PoolSummary> pool();
  Result<Balance> balance(std::int64_t user_id);
  // Every session not yet ended, everyone's (for admins' views and metrics).
  Result<std::vector<Session>> active_sessions();
  // Moves whenever something a view of sessions, the pool or accounts shows may have changed.
  std::uint64_t change_count() const { return store_.change_count(); }

  // Called (on the thread that made the change) when some node's desired state changed.
  void on_desired_change(std::function<void()> callback);
  // A contract check (image_catalog.hpp) or a save (image_saves.hpp) was ordered to some node:
  // held syncs hear of it now.
  void node_job_ordered() { notify(); }

  // Containers agents run for sessions the store does not know (unknown_containers.hpp).
  std::vector<UnknownContainer> unknown_containers() const { return unknown_.list(); }
  // An admin's decision: that container goes at its node's next sync.
  Status remove_unknown_container(const std::string& node, const std::string& session_id);
  // The other decision: it becomes a session of its labelled user, on its GPUs and ports,
  // billed from when its Jupyter answers (adopt_container.cpp). A conflict when it cannot be:
  // no labels, no readable token, a user this database lacks, GPUs or ports taken meanwhile.
  Result<Session> adopt_unknown_container(const std::string& node, const std::string& session_id);

  // Sessions as Slurm jobs (slurm_sync.cpp), with settings.slurm set. Slurm's view of
  // gpupool's jobs and of its nodes applied: sessions follow their jobs (slurm_lifecycle.hpp),
  // the nodes become the pool. Answers what to do in Slurm: jobs to submit, jobs to cancel.
  Result<SlurmOrders> slurm_sync(const SlurmReport& report);
  // The job for a session was submitted (`secret_hash`: what its report must prove), or Slurm
  // refused it (the session ends, failed, with Slurm's words).
  Status slurm_submitted(const std::string& session_id, std::int64_t job_id,
                         const std::string& secret_hash);
  Status slurm_refused(const std::string& session_id, const std::string& message);
  // A session's job reports where its Jupyter and SSH listen on its node (0: no SSH):
  // unauthorized unless `secret` is its job's; the session runs from now.
  Result<Session> slurm_ready(const std::string& session_id, const std::string& secret,
                              const SlurmEndpoint& endpoint);
  // A running session's job reports its signs of use, as an agent's sync does for its
  // containers: GPU use is metered and the idle rules applied (a reclaimed session goes to
  // stopping; slurm_sync then cancels its job). Unauthorized unless `secret` is its job's.
  Result<Session> slurm_activity(const std::string& session_id, const std::string& secret,
                                 const SessionActivity& activity);
  // A session's job that cannot start it sends its output as it exits, for `gpupool logs`
  // (a job's log is on its node, out of the server's reach). Unauthorized unless `secret` is
  // its job's; a conflict once it runs. `log`: untrusted bytes, kept as their UTF-8 tail.
  Result<Session> slurm_start_failure(const std::string& session_id, const std::string& secret,
                                      std::string_view log);

  // Ends the sessions of nodes silent for longer than settings.node_lost_after (silent_nodes.cpp).
  // Call it periodically: a silent node sends nothing that would trigger it. Silence counts
  // from this service's start at the earliest: while the server was down (a host reboot, an
  // upgrade) no node could report, and each gets the whole grace period to come back.
  Status end_sessions_of_silent_nodes();

  // Idle reclaim (idle_reclaim.cpp). The owner's "keep it" (session_lifecycle.hpp's after_keep);
  // another user's session is not_found.
  Result<Session> keep_session(const User& user, const std::string& id);
  // An admin exempts a session from idle reclaim, or lifts the exemption.
  Result<Session> set_idle_exempt(const std::string& id, bool exempt);
  // What the server knows of running sessions' use (for views).
  const IdleWatch& idle_watch() const { return idle_; }
  const SessionMetrics& metrics() const { return metrics_; }

 private:
  Status schedule_locked(UnixMillis now);
  // The decayed GPU-hours of `user` and everyone in the user's groups, together.
  Result<double> group_fair_share(std::int64_t user, std::map<std::int64_t, double>& usage);
  // Sets or clears preempt_at on active sessions to match the scheduler's choice.
  Status mark_preemptions_locked(std::vector<Session>& active,
                                 const std::vector<scheduler::Preemption>& preemptions,
                                 UnixMillis now);
  // Refuses a request when the user has max_queued_per_user waiting already.
  Status check_queue_room_locked(const User& user);
  // Refuses a request over any of the user's or their groups' quotas; may set max_hours.
  Status enforce_quotas_locked(const User& user, SessionRequest& request,
                               const std::vector<Node>& nodes);
  // `report` carries the time and the node's previous report; its `observed` is unused.
  Status apply_observations_locked(const SyncRequest& request, const SyncFacts& report);
  // When the node last reported before now; 0 for a node never seen.
  Result<UnixMillis> last_report_locked(const std::string& node);
  // Notes the node's report at `now`: in heard_ always, in the store when its inventory
  // changed or the stored time is older than kLastSeenWriteMillis. True when its inventory is
  // new to this service (first report, or something about the node changed).
  Result<bool> record_report_locked(const Node& reported, UnixMillis now);
  // The session whose job holds `secret`; the same unauthorized Error for an unknown session
  // and a wrong secret.
  Result<Session> session_of_job_locked(const std::string& session_id, const std::string& secret);
  // The node's report of each running session's use recorded, and the idle rules applied.
  Status check_idle_locked(std::vector<Session>& sessions,
                           const std::map<std::string, const ObservedSession*>& observed,
                           UnixMillis now);
  Result<IdlePolicy> idle_policy_locked(std::int64_t user_id);
  // Each session's GPU use from the node's report counted, and written when due.
  Status meter_gpu_use_locked(const std::vector<Session>& sessions,
                              const std::map<std::string, const ObservedSession*>& observed,
                              UnixMillis now);
  // Share sessions whose processes use more of their GPU than their share and the slack, for
  // the grace, start stopping (share_checks.cpp).
  Status check_gpu_shares_locked(std::vector<Session>& sessions,
                                 const std::vector<GpuReading>& readings, UnixMillis now);
  // Stores a notice to a session's owner (notices.hpp), in the caller's transaction.
  Status tell_locked(Notification notice) { return store_.add_notification(notice); }
  // The balances of the owners of running, priced sessions (balance_checks.cpp): sessions
  // whose owner's balance has run out start stopping (prepaid only); an owner whose balance
  // fell below their threshold is told, once until it rises above again.
  Status check_balances_locked(std::vector<Session>& sessions, UnixMillis now);
  Status warn_low_balance_locked(std::int64_t user_id, std::int64_t available_micros,
                                 UnixMillis now);
  // The node's reports of sessions the store has no row for.
  // What the report holds beyond the store's live sessions: containers of sessions it does not
  // know, and of sessions that have ended.
  struct StrayContainers {
    std::vector<ObservedSession> unknown;
    std::vector<ObservedSession> departing;
  };
  Result<StrayContainers> stray_observations_locked(const SyncRequest& request);
  Result<SyncResponse> desired_for_locked(const SyncRequest& request);
  // The sessions each node (or only `node`) should run, by node.
  Result<std::map<std::string, std::vector<DesiredSession>>> desired_sessions_locked(
      const std::optional<std::string>& node);
  // Containers of sessions the store does not know that an admin asked to go from `node`.
  std::vector<std::string> removals_for(const std::string& node) const;
  Result<Session> adopt_locked(const std::string& node, const std::string& session_id);
  void notify();

  Store& store_;
  const Clock& clock_;
  const SessionSettings settings_;
  Accounts accounts_;
  Rollouts rollouts_;  // chooses among a family's images; halting is the app's (watch())
  const UnixMillis started_at_;
  std::mutex mutex_;
  std::vector<std::function<void()>> listeners_;  // set at start-up, before concurrent use
  // The last report of each node since this service started, with when its row was last
  // written: the store's last_seen lags by up to kLastSeenWriteMillis (what the pool view
  // shows), these are exact.
  struct HeardNode : Node {
    UnixMillis stored_at = 0;
  };
  static constexpr UnixMillis kLastSeenWriteMillis = 10'000;
  std::map<std::string, HeardNode> heard_;  // guarded by mutex_
  // Whether the last scheduling pass found sessions queued (guarded by mutex_): until one
  // finds none, every sync runs a pass, since what it reports may make room.
  bool queue_nonempty_ = true;
  UnknownContainers unknown_;
  DepartingContainers departing_;
  IdleWatch idle_;
  GpuUseMeter gpu_use_;  // guarded by mutex_
  // When each share session was first seen over its share and slack, until it is not.
  std::map<std::string, UnixMillis> share_overrun_since_;  // guarded by mutex_
  SessionMetrics metrics_;
};

}  // namespace gpupool::services
