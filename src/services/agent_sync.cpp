// SessionService's side of agent sync: the node's report applied to its sessions through
// the lifecycle (session_lifecycle.hpp), sessions whose owner ran out of balance stopped,
// containers of sessions the store does not know fenced and left alone, containers of ended
// sessions fenced until gone, and the node's desired sessions and the containers to release
// returned.
#include <map>
#include <set>

#include "catalog/registry_logins.hpp"
#include "core/log.hpp"
#include "services/image_checks.hpp"
#include "services/image_saves.hpp"
#include "services/notices.hpp"
#include "services/session_lifecycle.hpp"
#include "services/session_service.hpp"

namespace gpupool::services {

Result<SyncResponse> SessionService::sync(const SyncRequest& request) {
  ScopedTimer timed(metrics_.sync);
  Result<SyncResponse> response = SyncResponse{};
  std::uint64_t changes_before = 0;
  bool changed = false;
  // The report is as of its arrival: waiting for a lock (another request's write, the
  // database held by another process) must not make what it says look newer than it is.
  UnixMillis now = clock_.now();
  {
    std::lock_guard lock(mutex_);
    auto applied = store_.in_transaction([&]() -> Status {
      auto last_report = last_report_locked(request.node.name);
      if (!last_report) return last_report.error();
      auto new_inventory = record_report_locked(request.node, now);
      if (!new_inventory) return new_inventory.error();
      changes_before = store_.change_count();
      GPUPOOL_TRY(apply_observations_locked(request, {nullptr, now, *last_report}));
      auto checked = record_image_checks(store_, request.node.name, request.image_checks, now);
      if (!checked) return checked.error();
      GPUPOOL_TRY(record_image_saves(store_, request.node.name, request.image_saves, now));
      auto stray = stray_observations_locked(request);
      if (!stray) return stray.error();
      const Node& node = request.node;
      departing_.update(node.name, std::move(stray->departing));
      for (const auto& found : unknown_.update(node.name, stray->unknown, now)) {
        spdlog::error(
            "node {} runs a container for session {} (user {}) that the database does not know "
            "— did gpupool start on a new, replaced or restored database? It is left running, "
            "its GPUs and ports fenced; an admin can remove it: gpupool admin unknown-rm {} {}",
            node.name, found.session_id, found.user.empty() ? "?" : found.user, node.name,
            found.session_id);
      }
      // A pass reads every node and active session: a heartbeat that changed nothing, with
      // nothing queued, has nothing to place and skips it (a thousand nodes' heartbeats would
      // otherwise cost a thousand passes).
      if (*new_inventory || queue_nonempty_ || store_.change_count() != changes_before)
        GPUPOOL_TRY(schedule_locked(now));
      response = desired_for_locked(request);
      changed = store_.change_count() != changes_before;
      return response ? Status{} : response.error();
    });
    if (!applied) return applied.error();
  }
  // A session this node's report moved on (ended, freed GPUs) may have let the scheduler place
  // another on some other node: that node's held sync should hear of it now.
  if (changed) notify();
  return response;
}

namespace {

// A save ordered to a node, in its desired-state fingerprint.
std::string save_job_line(std::int64_t save_id) {
  return "save:" + std::to_string(save_id);
}

}  // namespace

Result<UnixMillis> SessionService::last_report_locked(const std::string& node) {
  if (auto heard = heard_.find(node); heard != heard_.end()) return heard->second.last_seen;
  auto nodes = store_.list_nodes();
  if (!nodes) return nodes.error();
  for (const auto& known : *nodes) {
    if (known.name == node) return known.last_seen;
  }
  return UnixMillis{0};
}

namespace {

// Everything a node reports of itself but the time: a change in it is written at once.
bool same_inventory(const Node& a, const Node& b) {
  auto gpus_equal = [](const GpuDevice& x, const GpuDevice& y) {
    return x.index == y.index && x.uuid == y.uuid && x.model == y.model &&
           x.memory_mb == y.memory_mb && x.simulated == y.simulated && x.links == y.links;
  };
  return a.name == b.name && a.address == b.address && a.cpus == b.cpus &&
         a.memory_mb == b.memory_mb && a.port_min == b.port_min && a.port_max == b.port_max &&
         a.driver_cuda == b.driver_cuda && a.simulated == b.simulated && a.labels == b.labels &&
         a.jupyter_host == b.jupyter_host && a.shared_homes == b.shared_homes &&
         a.app_relay_port == b.app_relay_port && a.engine == b.engine &&
         a.gpu_devices == b.gpu_devices &&
         std::equal(a.gpus.begin(), a.gpus.end(), b.gpus.begin(), b.gpus.end(), gpus_equal);
}

}  // namespace

Result<bool> SessionService::record_report_locked(const Node& reported, UnixMillis now) {
  // A sync that changes nothing must not cost a commit (an fsync) per node per heartbeat: the
  // time of the report is kept here, and written only when the stored one is kLastSeenWriteMillis
  // old. Everything that judges silence asks heard_ first (last_report_locked).
  auto heard = heard_.find(reported.name);
  bool new_inventory = heard == heard_.end() || !same_inventory(heard->second, reported);
  bool unchanged = !new_inventory && now - heard->second.stored_at < kLastSeenWriteMillis;
  Node node = reported;
  node.last_seen = now;
  if (!unchanged) GPUPOOL_TRY(store_.upsert_node(node));
  HeardNode& entry = heard_[reported.name];
  UnixMillis stored_at = unchanged ? entry.stored_at : now;
  static_cast<Node&>(entry) = std::move(node);
  entry.stored_at = stored_at;
  return new_inventory;
}

Status SessionService::apply_observations_locked(const SyncRequest& request,
                                                 const SyncFacts& report) {
  UnixMillis now = report.now;
  std::map<std::string, const ObservedSession*> observed;
  for (const auto& item : request.observed) observed[item.session_id] = &item;
  auto sessions = store_.list_sessions({std::nullopt, request.node.name, true, {}});
  if (!sessions) return sessions.error();
  for (auto& session : *sessions) {
    auto found = observed.find(session.id);
    SyncFacts facts = report;
    facts.observed = found != observed.end() ? found->second : nullptr;
    Transition next = after_sync(session, facts);
    if (next.ignored_host_key)
      spdlog::warn("session {}: ignoring a malformed SSH host key from the agent", session.id);
    if (!next.changed) continue;
    SessionState before = session.state;
    session = std::move(next.session);
    spdlog::info("session {}: {} → {}{}", session.id, to_string(before), to_string(session.state),
                 session.reason.empty() ? "" : " (" + session.reason + ")");
    GPUPOOL_TRY(store_.update_session(session));
    if (next.ended && facts.observed != nullptr && !facts.observed->log.empty())
      GPUPOOL_TRY(store_.save_start_log(session.id, facts.observed->log));
    // In the transaction that ends it: a session is charged exactly once.
    if (next.ended) GPUPOOL_TRY(accounts_.charge(session));
    if (next.limit_warned && session.state == SessionState::running)
      GPUPOOL_TRY(tell_locked(time_limit_notice(session, now)));
    if (next.ended && worth_telling_ended(session))
      GPUPOOL_TRY(tell_locked(ended_notice(session, now)));
    if (before != SessionState::running && session.state == SessionState::running &&
        worth_telling_started(session))
      GPUPOOL_TRY(tell_locked(started_notice(session, now)));
  }
  GPUPOOL_TRY(check_balances_locked(*sessions, now));
  GPUPOOL_TRY(meter_gpu_use_locked(*sessions, observed, now));
  GPUPOOL_TRY(check_gpu_shares_locked(*sessions, request.gpu_readings, now));
  return check_idle_locked(*sessions, observed, now);
}

Result<SessionService::StrayContainers> SessionService::stray_observations_locked(
    const SyncRequest& request) {
  StrayContainers stray;
  for (const auto& observed : request.observed) {
    auto session = store_.get_session(observed.session_id);
    if (!session) return session.error();
    if (!session->has_value()) {
      stray.unknown.push_back(observed);
    } else if (!holds_resources((*session)->state)) {
      stray.departing.push_back(observed);
    }
  }
  return stray;
}

Status SessionService::remove_unknown_container(const std::string& node,
                                                const std::string& session_id) {
  GPUPOOL_TRY(unknown_.request_removal(node, session_id));
  spdlog::warn("node {}: the container of unknown session {} is to be removed", node, session_id);
  notify();
  return {};
}

Result<std::map<std::string, std::vector<DesiredSession>>> SessionService::desired_sessions_locked(
    const std::optional<std::string>& node) {
  auto sessions = store_.list_sessions({std::nullopt, node, true, {}});
  if (!sessions) return sessions.error();
  std::map<std::string, std::vector<DesiredSession>> by_node;
  std::map<std::int64_t, std::vector<std::string>> keys_by_user;
  std::map<std::int64_t, std::vector<DatasetMount>> datasets_by_user;
  for (const auto& session : *sessions) {
    if (!holds_resources(session.state) || session.state == SessionState::stopping) continue;
    if (!keys_by_user.contains(session.user_id)) {
      auto keys = store_.ssh_keys(session.user_id);
      if (!keys) return keys.error();
      keys_by_user[session.user_id] = std::move(*keys);
      auto datasets = store_.datasets_of(session.user_id);
      if (!datasets) return datasets.error();
      for (const auto& dataset : *datasets)
        datasets_by_user[session.user_id].push_back({dataset.name, dataset.host_path});
    }
    DesiredSession desired;
    desired.session_id = session.id;
    desired.username = session.username;
    desired.uid = session.uid;
    desired.gid = session.gid;
    desired.image_reference = session.image_reference;
    if (auto login = catalog::login_for(settings_.registry_logins, session.image_reference)) {
      desired.registry_username = login->username;
      desired.registry_password = login->password;
    }
    desired.gpu_indices = session.gpu_indices;
    desired.gpu_uuids = session.gpu_uuids;
    desired.jupyter_port = session.jupyter_port;
    desired.ssh_port = session.ssh_port;
    desired.jupyter_token = session.jupyter_token;
    desired.authorized_keys = keys_by_user[session.user_id];
    desired.cpus = session.request.cpus;
    desired.memory_mb = session.request.memory_mb;
    desired.gpu_memory_mb = session.request.gpu_memory_mb;
    desired.datasets = datasets_by_user[session.user_id];
    by_node[session.node].push_back(std::move(desired));
  }
  return by_node;
}

std::vector<std::string> SessionService::removals_for(const std::string& node) const {
  std::vector<std::string> removals;
  for (const auto& entry : unknown_.list()) {
    if (entry.node == node && entry.removal_requested) removals.push_back(entry.session_id);
  }
  return removals;
}

Result<SyncResponse> SessionService::desired_for_locked(const SyncRequest& request) {
  const std::string& node = request.node.name;
  auto by_node = desired_sessions_locked(node);
  if (!by_node) return by_node.error();
  SyncResponse response;
  response.desired = std::move((*by_node)[node]);
  // What the agent runs and the store knows but does not want here any more goes; what the
  // store does not know stays, unless an admin has asked for it to go.
  std::set<std::string> keep;
  for (const auto& desired : response.desired) keep.insert(desired.session_id);
  for (const auto& entry : unknown_.list()) {
    if (entry.node == node && !entry.removal_requested) keep.insert(entry.session_id);
  }
  for (const auto& observed : request.observed) {
    if (!keep.contains(observed.session_id)) response.release.push_back(observed.session_id);
  }
  auto checks = claim_image_checks(store_, node, clock_.now(), settings_.registry_logins);
  if (!checks) return checks.error();
  std::vector<std::string> ordered;
  for (const auto& order : *checks) ordered.push_back(order.tag + "@" + order.image.reference);
  response.image_checks = std::move(*checks);
  auto saves =
      image_saves_for(store_, node, clock_.now(), settings_.image_saves, settings_.registry_logins);
  if (!saves) return saves.error();
  for (const auto& order : *saves) ordered.push_back(save_job_line(order.id));
  response.image_saves = std::move(*saves);
  response.state = desired_state_fingerprint(response.desired, removals_for(node), ordered);
  auto prepull = images_to_prepull(store_, settings_.prepull, settings_.registry_logins);
  if (!prepull) return prepull.error();
  response.prepull = std::move(*prepull);
  return response;
}

Result<SyncResponse> SessionService::desired_for(const SyncRequest& request) {
  std::lock_guard lock(mutex_);
  return desired_for_locked(request);
}

Result<std::map<std::string, std::string>> SessionService::desired_states(
    const std::set<std::string>& nodes) {
  std::lock_guard lock(mutex_);
  auto by_node = desired_sessions_locked(std::nullopt);
  if (!by_node) return by_node.error();
  auto images = store_.list_images();
  if (!images) return images.error();
  auto saves = store_.list_image_saves(true);
  if (!saves) return saves.error();
  UnixMillis now = clock_.now();
  std::map<std::string, std::string> states;
  for (const auto& node : nodes) {
    auto found = by_node->find(node);
    auto jobs = image_checks_for(*images, node, now);
    for (const auto& save : *saves) {
      if (save.state == SaveState::saving && save.node == node)
        jobs.push_back(save_job_line(save.id));
    }
    states[node] = desired_state_fingerprint(
        found != by_node->end() ? found->second : std::vector<DesiredSession>{}, removals_for(node),
        jobs);
  }
  return states;
}

}  // namespace gpupool::services
