#include "services/session_service.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "auth/ssh_key.hpp"
#include "catalog/image_tag.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "metering/meter.hpp"
#include "scheduler/fair_share.hpp"
#include "scheduler/placement_state.hpp"
#include "scheduler/quota_check.hpp"
#include "scheduler/schedule.hpp"
#include "services/quota_usage.hpp"

namespace gpupool::services {

namespace {

Error invalid(std::string message) {
  return make_error(ErrorCode::invalid_argument, std::move(message));
}

bool is_live(const Node& node, UnixMillis now) {
  return now - node.last_seen <= scheduler::kNodeSilenceLimitMillis;
}

// Fixes a just-placed session's rate from its GPUs' model and today's price.
void start_meter(Session& session, const std::vector<Node>& nodes,
                 const std::vector<Price>& prices) {
  if (session.gpu_indices.empty()) return;
  for (const auto& node : nodes) {
    if (node.name != session.node) continue;
    for (const auto& gpu : node.gpus) {
      if (gpu.index != session.gpu_indices.front()) continue;
      session.billed_gpu_model = gpu.model;
      session.billed_gpus = metering::billed_gpus(session.request, gpu.memory_mb);
      session.rate_micros_per_hour =
          metering::hourly_rate_micros(prices, gpu.model, session.billed_gpus);
      return;
    }
  }
}

void end_session(Session& session, EndReason reason, std::string why, UnixMillis now) {
  session.state = SessionState::ended;
  session.end_reason = reason;
  session.reason = std::move(why);
  session.ended_at = now;
  session.updated_at = now;
}

scheduler::Allocation allocation_of(const Session& session) {
  scheduler::Allocation allocation;
  allocation.session_id = session.id;
  allocation.node = session.node;
  allocation.gpu_indices = session.gpu_indices;
  allocation.gpu_memory_mb = session.request.gpu_memory_mb;
  allocation.cpus = session.request.cpus;
  allocation.memory_mb = session.request.memory_mb;
  allocation.jupyter_port = session.jupyter_port;
  allocation.ssh_port = session.ssh_port;
  allocation.preemptible = session.request.preemptible;
  allocation.since = session.started_at != 0 ? session.started_at : session.updated_at;
  if (session.request.max_hours && session.started_at != 0) {
    allocation.ends_at =
        session.started_at + static_cast<UnixMillis>(*session.request.max_hours * 3600 * 1000);
  }
  return allocation;
}

// Whole GPUs count one each; a share counts as its part of the GPU's memory.
double gpu_equivalents(const Session& session, const std::vector<Node>& nodes) {
  if (session.request.gpu_memory_mb <= 0) return session.request.gpus;
  for (const auto& node : nodes) {
    if (node.name != session.node || session.gpu_indices.empty()) continue;
    auto index = static_cast<std::size_t>(session.gpu_indices.front());
    if (index < node.gpus.size() && node.gpus[index].memory_mb > 0) {
      return std::min(1.0, static_cast<double>(session.request.gpu_memory_mb) /
                               static_cast<double>(node.gpus[index].memory_mb));
    }
  }
  return 1.0;
}

// The mix of the most recent requests, so placements keep GPUs usable for what users ask.
std::vector<scheduler::WorkloadShape> workload_of(const std::vector<Session>& history) {
  constexpr std::size_t kRecentRequests = 1000;
  constexpr std::size_t kShapes = 16;
  std::vector<scheduler::Demand> recent;
  std::size_t start = history.size() > kRecentRequests ? history.size() - kRecentRequests : 0;
  for (std::size_t i = start; i < history.size(); ++i) {
    recent.push_back(scheduler::demand_of(history[i].request));
  }
  return scheduler::PlacementState::workload_of(recent, kShapes);
}

bool past_time_limit(const Session& session, UnixMillis now) {
  if (!session.request.max_hours || session.started_at == 0) return false;
  return now - session.started_at >
         static_cast<UnixMillis>(*session.request.max_hours * 3600 * 1000);
}

// Keeps the host key the agent read from the container, if it is a well-formed public key.
void record_host_key(Session& session, const std::string& reported) {
  if (reported.empty()) return;
  auto key = auth::normalize_ssh_public_key(reported);
  if (!key) {
    spdlog::warn("session {}: ignoring a malformed SSH host key from the agent", session.id);
    return;
  }
  // Drop the comment: it names the container user and host, which says nothing useful.
  std::string without_comment = key->substr(0, key->find(' ', key->find(' ') + 1));
  session.ssh_host_key = without_comment;
}

// Checks that some node of the pool could ever hold the request, so that an impossible
// request is refused now rather than queued forever.
Status check_request_fits_pool(const SessionRequest& request, const std::string& image_cuda,
                               const std::vector<Node>& nodes) {
  if (nodes.empty()) return make_error(ErrorCode::unavailable, "the pool has no nodes yet");
  int most_gpus = 0;
  std::int64_t most_gpu_memory = 0;
  std::set<std::string> models;
  bool cpus_fit = false;
  bool memory_fit = false;
  const Node* best_driver = nullptr;
  for (const auto& node : nodes) {
    int matching = 0;
    for (const auto& gpu : node.gpus) {
      models.insert(gpu.model);
      if (request.gpu_model.empty() || gpu.model == request.gpu_model) {
        ++matching;
        most_gpu_memory = std::max(most_gpu_memory, gpu.memory_mb);
      }
    }
    if (best_driver == nullptr ||
        catalog::compare_versions(node.driver_cuda, best_driver->driver_cuda) > 0) {
      best_driver = &node;
    }
    most_gpus = std::max(most_gpus, matching);
    cpus_fit = cpus_fit || request.cpus <= node.cpus;
    memory_fit = memory_fit || request.memory_mb <= node.memory_mb;
  }
  if (!request.gpu_model.empty() && !models.contains(request.gpu_model)) {
    std::string known;
    for (const auto& model : models) known += (known.empty() ? "" : ", ") + model;
    return invalid(
        fmt::format("no GPU model \"{}\" in the pool (it has: {})", request.gpu_model, known));
  }
  if (!request.node_selector.empty() &&
      std::none_of(nodes.begin(), nodes.end(), [&](const Node& node) {
        return scheduler::matches(node, request.node_selector);
      })) {
    return invalid("no node in the pool has all the labels in \"node_selector\"");
  }
  if (!catalog::driver_supports(best_driver->driver_cuda, image_cuda)) {
    return invalid(
        best_driver->driver_cuda.empty()
            ? fmt::format("the image needs CUDA {}; no node has an NVIDIA driver", image_cuda)
            : fmt::format(
                  "the image needs CUDA {}; the newest driver in the pool (node {}) supports {}",
                  image_cuda, best_driver->name, best_driver->driver_cuda));
  }
  if (request.gpu_memory_mb > most_gpu_memory) {
    return invalid(fmt::format("asked for {:g} GB of GPU memory but the largest GPU has {:g} GB",
                               static_cast<double>(request.gpu_memory_mb) / 1024,
                               static_cast<double>(most_gpu_memory) / 1024));
  }
  if (request.gpus > most_gpus) {
    return invalid(fmt::format("asked for {} GPUs but the largest node has {}{}", request.gpus,
                               most_gpus,
                               request.gpu_model.empty() ? "" : " " + request.gpu_model));
  }
  if (!cpus_fit)
    return invalid(fmt::format("asked for {} CPUs, more than any node has", request.cpus));
  if (!memory_fit) {
    return invalid(fmt::format("asked for {} GB of memory, more than any node has",
                               static_cast<double>(request.memory_mb) / 1024));
  }
  return {};
}

}  // namespace

void SessionService::on_desired_change(std::function<void()> callback) {
  listeners_.push_back(std::move(callback));
}

void SessionService::notify() {
  for (const auto& listener : listeners_) listener();
}

Result<Session> SessionService::request_session(const User& user, SessionRequest request) {
  auto images = store_.list_images();
  if (!images) return images.error();
  const Image* image = nullptr;
  for (const auto& candidate : *images) {
    if (request.image_tag.empty() ? candidate.is_default : candidate.tag == request.image_tag)
      image = &candidate;
  }
  if (image == nullptr) {
    if (request.image_tag.empty())
      return make_error(ErrorCode::unavailable, "no default image in the catalog");
    return make_error(
        ErrorCode::not_found,
        fmt::format("image \"{}\" is not in the catalog (GET /api/v1/images lists them)",
                    request.image_tag.substr(0, 128)));
  }
  if (image->status != "available") {
    return make_error(
        ErrorCode::unavailable,
        fmt::format("image \"{}\" is in the catalog but not present on any node yet", image->tag));
  }
  request.image_tag = image->tag;

  Session session;
  {
    std::lock_guard lock(mutex_);
    auto nodes = store_.list_nodes();
    if (!nodes) return nodes.error();
    GPUPOOL_TRY(check_request_fits_pool(request, image->cuda, *nodes));
    UnixMillis now = clock_.now();
    session.id = new_session_id();
    session.user_id = user.id;
    session.username = user.username;
    session.uid = user.uid;
    session.request = request;
    session.image_reference = image->reference;
    session.state = SessionState::queued;
    session.reason = "waiting for the scheduler";
    session.jupyter_token = random_hex(24);
    session.created_at = now;
    session.updated_at = now;
    // Check and insert in one transaction: parallel requests at quota − 1 cannot both pass.
    GPUPOOL_TRY(store_.in_transaction([&]() -> Status {
      GPUPOOL_TRY(enforce_quotas_locked(user, session.request, *nodes));
      GPUPOOL_TRY(accounts_.check_request(user, session.request, now));
      GPUPOOL_TRY(store_.insert_session(session));
      return schedule_locked(now);
    }));
  }
  spdlog::info("session {} requested by {}: {} GPU(s), image {}", session.id, user.username,
               request.gpus, request.image_tag);
  notify();
  return get_session(user, session.id);
}

Status SessionService::enforce_quotas_locked(const User& user, SessionRequest& request,
                                             const std::vector<Node>& nodes) {
  auto quotas = store_.quotas_for(user.id);
  if (!quotas) return quotas.error();
  if (quotas->empty()) return {};
  auto active = store_.list_sessions({std::nullopt, std::nullopt, true});
  if (!active) return active.error();
  for (const auto& quota : *quotas) {
    auto subjects = quota_subjects(store_, quota);
    if (!subjects) return subjects.error();
    auto use = scheduler::use_of(held_requests(*active, nodes, *subjects, false));
    GPUPOOL_TRY(scheduler::check_quota(quota, use, request));
  }
  // A session that names no time limit gets the tightest one its quotas allow.
  if (!request.max_hours) request.max_hours = scheduler::session_hours_cap(*quotas);
  return {};
}

Result<std::vector<Session>> SessionService::list_sessions(const User& user, bool everyone) {
  SessionFilter filter;
  if (!everyone || !user.admin) filter.user_id = user.id;
  return store_.list_sessions(filter);
}

Result<Session> SessionService::get_session(const User& user, const std::string& id) {
  auto session = store_.get_session(id);
  if (!session) return session.error();
  if (!session->has_value() || (!user.admin && (*session)->user_id != user.id)) {
    return make_error(ErrorCode::not_found, "no such session");
  }
  return std::move(**session);
}

Result<Session> SessionService::stop_session(const User& user, const std::string& id) {
  {
    std::lock_guard lock(mutex_);
    auto found = get_session(user, id);
    if (!found) return found.error();
    Session session = std::move(*found);
    UnixMillis now = clock_.now();
    EndReason reason =
        session.user_id == user.id ? EndReason::user_stopped : EndReason::admin_stopped;
    std::string why =
        reason == EndReason::user_stopped ? "stopped by the user" : "stopped by an admin";
    if (session.state == SessionState::queued) {
      end_session(session, reason, why, now);
    } else if (holds_resources(session.state) && session.state != SessionState::stopping) {
      // Resources stay held until the agent reports the container gone.
      session.state = SessionState::stopping;
      session.end_reason = reason;
      session.reason = why;
      session.updated_at = now;
    } else {
      return session;  // already stopping or ended: stopping twice is not an error
    }
    GPUPOOL_TRY(store_.in_transaction([&]() -> Status {
      GPUPOOL_TRY(store_.update_session(session));
      return schedule_locked(now);
    }));
  }
  notify();
  return get_session(user, id);
}

Status SessionService::schedule_locked(UnixMillis now) {
  scheduler::Snapshot snapshot;
  auto nodes = store_.list_nodes();
  if (!nodes) return nodes.error();
  snapshot.nodes = std::move(*nodes);
  auto active = store_.list_sessions({std::nullopt, std::nullopt, true});
  if (!active) return active.error();
  bool any_queued = std::any_of(active->begin(), active->end(), [](const Session& session) {
    return session.state == SessionState::queued;
  });
  if (!any_queued) return mark_preemptions_locked(*active, {}, now);
  auto images = store_.list_images();
  if (!images) return images.error();
  auto history = store_.list_sessions({});
  if (!history) return history.error();
  auto usage = fair_share_usage(*history, snapshot.nodes, now);
  snapshot.workload = workload_of(*history);

  std::map<std::string, Session*> queued;
  std::vector<std::int64_t> pending_users;
  std::map<std::int64_t, double> group_usage;  // by user
  for (auto& session : *active) {
    if (holds_resources(session.state)) {
      snapshot.allocations.push_back(allocation_of(session));
    } else if (session.state == SessionState::queued) {
      std::string cuda;
      for (const auto& image : *images) {
        if (image.tag == session.request.image_tag) cuda = image.cuda;
      }
      snapshot.pending.push_back(
          {session.id, session.request, session.created_at, cuda, usage[session.user_id], {}});
      if (!group_usage.contains(session.user_id)) {
        auto total = group_fair_share(session.user_id, usage);
        if (!total) return total.error();
        group_usage[session.user_id] = *total;
      }
      snapshot.pending.back().group_fair_share_usage = group_usage[session.user_id];
      pending_users.push_back(session.user_id);
      queued[session.id] = &session;
    }
  }
  GPUPOOL_TRY(add_model_limits(store_, *active, pending_users, snapshot));
  auto plan = scheduler::schedule(snapshot, now);
  std::vector<Price> prices;
  if (!plan.placements.empty()) {
    auto listed = store_.list_prices();
    if (!listed) return listed.error();
    prices = std::move(*listed);
  }
  for (const auto& placement : plan.placements) {
    Session& session = *queued.at(placement.session_id);
    session.state = SessionState::scheduled;
    session.reason = "";
    session.node = placement.node;
    session.gpu_indices = placement.gpu_indices;
    session.gpu_uuids = placement.gpu_uuids;
    session.jupyter_port = placement.jupyter_port;
    session.ssh_port = placement.ssh_port;
    session.updated_at = now;
    start_meter(session, snapshot.nodes, prices);
    GPUPOOL_TRY(store_.update_session(session));
  }
  for (const auto& entry : plan.queued) {
    Session& session = *queued.at(entry.session_id);
    std::string reason = fmt::format("{}; position {}", entry.reason, entry.position);
    if (entry.estimated_start > 0) {
      reason += fmt::format("; expected to start by {} (when time limits free the GPUs)",
                            format_rfc3339(entry.estimated_start));
    }
    if (session.reason == reason) continue;
    session.reason = reason;
    session.updated_at = now;
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
    if (chosen == (session.preempt_at != 0) || session.state == SessionState::stopping) continue;
    // Newly chosen: stop after the grace period. No longer needed: keep running.
    session.preempt_at = chosen ? now + settings_.preemption_grace : 0;
    session.updated_at = now;
    spdlog::info(
        "session {}: {}", session.id,
        chosen ? "will be preempted for a non-preemptible session" : "no longer to be preempted");
    GPUPOOL_TRY(store_.update_session(session));
  }
  return {};
}

std::map<std::int64_t, double> SessionService::fair_share_usage(const std::vector<Session>& history,
                                                                const std::vector<Node>& nodes,
                                                                UnixMillis now) const {
  std::map<std::int64_t, std::vector<scheduler::UsageInterval>> intervals;
  for (const auto& session : history) {
    if (session.started_at == 0) continue;
    intervals[session.user_id].push_back(
        {session.started_at, session.ended_at, gpu_equivalents(session, nodes)});
  }
  std::map<std::int64_t, double> usage;
  for (const auto& [user, list] : intervals) {
    usage[user] = scheduler::decayed_gpu_hours(list, now, settings_.fair_share_half_life);
  }
  return usage;
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

Status SessionService::reschedule() {
  {
    std::lock_guard lock(mutex_);
    UnixMillis now = clock_.now();
    GPUPOOL_TRY(store_.in_transaction([&]() -> Status { return schedule_locked(now); }));
  }
  notify();
  return {};
}

Result<SyncResponse> SessionService::sync(const SyncRequest& request) {
  Result<SyncResponse> response = SyncResponse{};
  {
    std::lock_guard lock(mutex_);
    UnixMillis now = clock_.now();
    auto applied = store_.in_transaction([&]() -> Status {
      Node node = request.node;
      node.last_seen = now;
      GPUPOOL_TRY(store_.upsert_node(node));
      GPUPOOL_TRY(apply_observations_locked(request, now));
      GPUPOOL_TRY(schedule_locked(now));
      response = desired_for_locked(node.name);
      return response ? Status{} : response.error();
    });
    if (!applied) return applied.error();
  }
  return response;
}

Status SessionService::apply_observations_locked(const SyncRequest& request, UnixMillis now) {
  std::map<std::string, const ObservedSession*> observed;
  for (const auto& item : request.observed) observed[item.session_id] = &item;
  auto sessions = store_.list_sessions({std::nullopt, request.node.name, true});
  if (!sessions) return sessions.error();
  for (auto& session : *sessions) {
    if (!holds_resources(session.state)) continue;
    Session before = session;
    auto found = observed.find(session.id);
    if (found == observed.end()) {
      // The agent reports every container it has: absence is authoritative.
      if (session.state == SessionState::stopping) {
        end_session(session, session.end_reason, session.reason, now);
      } else if (session.state == SessionState::starting ||
                 session.state == SessionState::running) {
        end_session(session, EndReason::failed, "the container disappeared from the node", now);
      }
    } else if (found->second->phase == ObservedPhase::failed &&
               session.state != SessionState::stopping) {
      end_session(session, EndReason::failed, found->second->message, now);
    } else if (found->second->phase == ObservedPhase::starting &&
               session.state == SessionState::scheduled) {
      session.state = SessionState::starting;
    } else if (found->second->phase == ObservedPhase::running &&
               (session.state == SessionState::scheduled ||
                session.state == SessionState::starting)) {
      session.state = SessionState::running;
      session.started_at = now;
    }
    if (found != observed.end() && found->second->phase == ObservedPhase::running) {
      record_host_key(session, found->second->ssh_host_key);
    }
    bool preempt_now = session.preempt_at != 0 && now >= session.preempt_at;
    if (preempt_now && holds_resources(session.state) && session.state != SessionState::stopping) {
      session.state = SessionState::stopping;
      session.end_reason = EndReason::preempted;
      session.reason = "preempted to make room for a non-preemptible session";
    }
    if (session.state == SessionState::running && past_time_limit(session, now)) {
      session.state = SessionState::stopping;
      session.end_reason = EndReason::time_limit;
      session.reason = fmt::format("reached its time limit of {} h", *session.request.max_hours);
    }
    if (session.state != before.state || session.ssh_host_key != before.ssh_host_key) {
      session.updated_at = now;
      spdlog::info("session {}: {} → {}{}", session.id, to_string(before.state),
                   to_string(session.state),
                   session.reason.empty() ? "" : " (" + session.reason + ")");
      GPUPOOL_TRY(store_.update_session(session));
      // In the transaction that ends it: a session is charged exactly once.
      if (session.state == SessionState::ended) GPUPOOL_TRY(accounts_.charge(session));
    }
  }
  return stop_unpaid_locked(*sessions, now);
}

Status SessionService::stop_unpaid_locked(std::vector<Session>& sessions, UnixMillis now) {
  if (!accounts_.prepaid()) return {};
  std::map<std::int64_t, std::int64_t> available;  // by user, read once per sync
  for (auto& session : sessions) {
    if (session.state != SessionState::running || session.rate_micros_per_hour == 0) continue;
    if (!available.contains(session.user_id)) {
      auto balance = accounts_.balance(session.user_id, now);
      if (!balance) return balance.error();
      available[session.user_id] = balance->available_micros();
    }
    if (available[session.user_id] > 0) continue;
    session.state = SessionState::stopping;
    session.end_reason = EndReason::balance_exhausted;
    session.reason = "the prepaid balance ran out; top it up to start again";
    session.updated_at = now;
    spdlog::info("session {}: running → stopping ({})", session.id, session.reason);
    GPUPOOL_TRY(store_.update_session(session));
  }
  return {};
}

Result<Balance> SessionService::balance(std::int64_t user_id) {
  std::lock_guard lock(mutex_);
  return accounts_.balance(user_id, clock_.now());
}

Result<SyncResponse> SessionService::desired_for_locked(const std::string& node) {
  auto sessions = store_.list_sessions({std::nullopt, node, true});
  if (!sessions) return sessions.error();
  SyncResponse response;
  std::map<std::int64_t, std::vector<std::string>> keys_by_user;
  for (const auto& session : *sessions) {
    if (!holds_resources(session.state) || session.state == SessionState::stopping) continue;
    if (!keys_by_user.contains(session.user_id)) {
      auto keys = store_.ssh_keys(session.user_id);
      if (!keys) return keys.error();
      keys_by_user[session.user_id] = std::move(*keys);
    }
    DesiredSession desired;
    desired.session_id = session.id;
    desired.username = session.username;
    desired.uid = session.uid;
    desired.image_reference = session.image_reference;
    desired.gpu_indices = session.gpu_indices;
    desired.gpu_uuids = session.gpu_uuids;
    desired.jupyter_port = session.jupyter_port;
    desired.ssh_port = session.ssh_port;
    desired.jupyter_token = session.jupyter_token;
    desired.authorized_keys = keys_by_user[session.user_id];
    desired.cpus = session.request.cpus;
    desired.memory_mb = session.request.memory_mb;
    desired.gpu_memory_mb = session.request.gpu_memory_mb;
    response.desired.push_back(std::move(desired));
  }
  return response;
}

Result<PoolSummary> SessionService::pool() {
  auto nodes = store_.list_nodes();
  if (!nodes) return nodes.error();
  auto active = store_.list_sessions({std::nullopt, std::nullopt, true});
  if (!active) return active.error();
  UnixMillis now = clock_.now();
  PoolSummary summary;
  scheduler::PlacementState state(*nodes, now);
  std::map<std::string, std::set<int>> busy;
  for (const auto& session : *active) {
    if (session.state == SessionState::queued) ++summary.queue_length;
    if (!holds_resources(session.state)) continue;
    auto allocation = allocation_of(session);
    state.hold(allocation.node, allocation.gpu_indices, allocation.gpu_memory_mb, allocation.cpus,
               allocation.memory_mb, {allocation.jupyter_port, allocation.ssh_port});
    busy[session.node].insert(session.gpu_indices.begin(), session.gpu_indices.end());
  }
  auto free = state.free_by_model();
  std::map<std::string, ModelCapacity> models;
  for (const auto& node : *nodes) {
    bool live = is_live(node, now);
    for (const auto& gpu : node.gpus) {
      auto& model = models[gpu.model];
      model.model = gpu.model;
      model.memory_mb = gpu.memory_mb;
      ++model.total;
    }
    summary.simulated = summary.simulated || node.simulated;
    summary.node_live.push_back(live);
    summary.node_free_gpus.push_back(
        live && !node.drained ? static_cast<int>(node.gpus.size() - busy[node.name].size()) : 0);
  }
  for (auto& [name, model] : models) {
    auto found = free.find(name);
    if (found != free.end()) {
      model.free = found->second.free_whole;
      model.shared = found->second.shared;
      model.free_memory_mb = found->second.free_memory_mb;
    }
    summary.models.push_back(model);
  }
  summary.nodes = std::move(*nodes);
  return summary;
}

Result<std::vector<Session>> SessionService::active_sessions() {
  return store_.list_sessions({std::nullopt, std::nullopt, true});
}

}  // namespace gpupool::services
