// SessionService's scheduling pass: builds the scheduler's snapshot from the store (placed
// sessions, the queue with fair-share usage, workload, model limits), runs the pure
// scheduler, and stores its plan: placements, queue reasons, preemptions.
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/log.hpp"
#include "scheduler/schedule.hpp"
#include "services/notices.hpp"
#include "services/quota_usage.hpp"
#include "services/scheduling_inputs.hpp"
#include "services/session_lifecycle.hpp"
#include "services/session_service.hpp"

namespace gpupool::services {

namespace {

constexpr UnixMillis kFairShareWindowHalfLives = 8;
// How far back a user's node-local home is looked for, in sessions.
constexpr int kHomeLookback = 20;

}  // namespace

Status SessionService::schedule_locked(UnixMillis now) {
  if (settings_.slurm) return {};  // Slurm places sessions (slurm_sync.cpp)
  // One server places at a time: the leader (store/postgres/leader_lease.hpp). The others
  // store requests; the leader hears of them at once and passes.
  if (!store_.leads()) return {};
  ScopedTimer timed(metrics_.scheduling_pass);
  scheduler::Snapshot snapshot;
  auto nodes = store_.list_nodes();
  if (!nodes) return nodes.error();
  snapshot.nodes = std::move(*nodes);
  auto active = store_.list_sessions({std::nullopt, std::nullopt, true, {}});
  if (!active) return active.error();
  bool any_queued = std::any_of(active->begin(), active->end(), [](const Session& session) {
    return session.state == SessionState::queued;
  });
  queue_nonempty_ = any_queued;
  if (!any_queued) return mark_preemptions_locked(*active, {}, now);
  auto images = store_.list_images();
  if (!images) return images.error();
  // Fair share forgets half of past use every half-life: what ended eight of them ago weighs
  // under 0.4% and is left out, so a pass costs what is active and recent, not all history.
  SessionFilter recent;
  recent.ended_since = now - kFairShareWindowHalfLives * settings_.fair_share_half_life;
  auto history = store_.list_sessions(recent);
  if (!history) return history.error();
  auto usage = fair_share_usage(*history, snapshot.nodes, now, settings_.fair_share_half_life);
  snapshot.workload = workload_of(*history);

  std::map<std::string, Session*> queued;
  std::vector<std::int64_t> pending_users;
  std::map<std::int64_t, double> group_usage;      // by user
  std::map<std::int64_t, std::string> home_nodes;  // by user
  for (auto& session : *active) {
    if (holds_resources(session.state)) {
      snapshot.allocations.push_back(allocation_of(session));
    } else if (session.state == SessionState::queued) {
      // Without a GPU the image's CUDA needs no driver: any node will do.
      std::string cuda;
      for (const auto& image : *images) {
        if (image.tag == session.request.image_tag && uses_gpu(session.request)) cuda = image.cuda;
      }
      snapshot.pending.push_back(
          {session.id, session.request, session.created_at, cuda, usage[session.user_id], {}});
      if (!group_usage.contains(session.user_id)) {
        auto total = group_fair_share(session.user_id, usage);
        if (!total) return total.error();
        group_usage[session.user_id] = *total;
      }
      snapshot.pending.back().group_fair_share_usage = group_usage[session.user_id];
      if (!home_nodes.contains(session.user_id)) {
        auto recent = store_.recent_session_nodes(session.user_id, kHomeLookback);
        if (!recent) return recent.error();
        home_nodes[session.user_id] = home_node_of(*recent, snapshot.nodes);
      }
      snapshot.pending.back().home_node = home_nodes[session.user_id];
      pending_users.push_back(session.user_id);
      queued[session.id] = &session;
    }
  }
  // What containers the store does not know hold is off limits, as is what containers of
  // ended sessions hold until their node has removed them.
  for (auto& fence : unknown_.fences(snapshot.nodes))
    snapshot.allocations.push_back(std::move(fence));
  for (auto& fence : departing_.fences(snapshot.nodes))
    snapshot.allocations.push_back(std::move(fence));
  GPUPOOL_TRY(add_model_limits(store_, *active, pending_users, snapshot));
  auto plan = scheduler::schedule(snapshot, now);
  for (const auto& placement : plan.placements) {
    const Session& session = *queued.at(placement.session_id);
    metrics_.queue_wait.observe(static_cast<double>(now - session.created_at) / 1000);
  }
  std::vector<Price> prices;
  if (!plan.placements.empty()) {
    auto listed = store_.list_prices();
    if (!listed) return listed.error();
    prices = std::move(*listed);
  }
  std::set<int> gateway_ports;  // SSH ports on the gateway host that sessions hold
  for (const auto& session : *active)
    if (holds_resources(session.state)) gateway_ports.insert(session.gateway_ssh_port);
  for (const auto& placement : plan.placements) {
    Session& session = *queued.at(placement.session_id);
    session.node = placement.node;
    session.gpu_indices = placement.gpu_indices;
    session.gpu_uuids = placement.gpu_uuids;
    session.jupyter_port = placement.jupyter_port;
    session.ssh_port = placement.ssh_port;
    session.home_node = home_nodes[session.user_id];
    // None left: the session is still reached directly on its node.
    session.gateway_ssh_port = free_port(gateway_ports, settings_.gateway_ssh_ports);
    gateway_ports.insert(session.gateway_ssh_port);
    start_meter(session, snapshot.nodes, prices);
    session = after_placement(session, now).session;
    GPUPOOL_TRY(store_.update_session(session));
  }
  for (const auto& entry : plan.queued) {
    Session& session = *queued.at(entry.session_id);
    QueueReason reason = entry.reason;
    reason.position = entry.position;
    reason.estimated_start = entry.estimated_start;
    Transition updated = after_queue_update(session, reason, now);
    if (!updated.changed) continue;
    session = std::move(updated.session);
    GPUPOOL_TRY(store_.update_session(session));
  }
  return mark_preemptions_locked(*active, plan.preemptions, now);
}

Status SessionService::mark_preemptions_locked(
    std::vector<Session>& active, const std::vector<scheduler::Preemption>& preemptions,
    UnixMillis now) {
  std::set<std::string> victims;
  for (const auto& preemption : preemptions) victims.insert(preemption.victim);
  for (auto& session : active) {
    bool chosen = victims.contains(session.id);
    // Newly chosen: stop after the grace period. No longer needed: keep running.
    Transition marked = after_preemption_choice(session, chosen, settings_.preemption_grace, now);
    if (!marked.changed) continue;
    session = std::move(marked.session);
    if (chosen) GPUPOOL_TRY(tell_locked(preemption_notice(session, now)));
    spdlog::info(
        "session {}: {}", session.id,
        chosen ? "will be preempted for a non-preemptible session" : "no longer to be preempted");
    GPUPOOL_TRY(store_.update_session(session));
  }
  return {};
}

Result<double> SessionService::group_fair_share(std::int64_t user,
                                                std::map<std::int64_t, double>& usage) {
  auto groups = store_.groups_of(user);
  if (!groups) return groups.error();
  std::set<std::int64_t> members = {user};
  for (const auto& group : *groups) {
    auto ids = store_.group_member_ids(group.id);
    if (!ids) return ids.error();
    members.insert(ids->begin(), ids->end());
  }
  double total = 0;
  for (std::int64_t member : members) total += usage[member];
  return total;
}

}  // namespace gpupool::services
