// GET /api/v1/nodes (admins): the nodes as in the pool, each with its GPUs — who holds each
// one and what it is doing (utilisation, memory, temperature, power) by its latest reading —,
// its engine's disk use and the unused images its agent removed —
// and containers agents run for sessions the database does not know; GET /metrics (admins),
// the same for Prometheus.
#include "api/api.hpp"
#include "api/metrics.hpp"
#include "gateway/replies.hpp"
#include "protocol/sync_json.hpp"
#include "services/session_lifecycle.hpp"

namespace gpupool::api {

using nlohmann::json;

Result<json> Api::nodes_document() {
  auto active = sessions_.active_sessions();
  if (!active) return active.error();
  return nodes_document(*active);
}

Result<json> Api::nodes_document(const std::vector<Session>& active) {
  auto pool = sessions_.pool();
  if (!pool) return pool.error();
  std::map<std::string, NodeReadings> readings;
  if (settings_.telemetry != nullptr) readings = settings_.telemetry->snapshot();
  json nodes = pool_view(*pool)["nodes"];
  for (std::size_t i = 0; i < pool->nodes.size(); ++i) {
    const Node& node = pool->nodes[i];
    auto found = readings.find(node.name);
    // A silent node's last readings describe the past: its GPUs show no figures.
    const NodeReadings* current =
        found != readings.end() && pool->node_live[i] ? &found->second : nullptr;
    nodes[i]["gpus"] = node_gpus_view(node, active, current);
    nodes[i]["telemetry_at"] =
        found != readings.end() ? json(format_rfc3339(found->second.read_at)) : json(nullptr);
    nodes[i]["disk"] = found != readings.end() && found->second.disk
                           ? node_disk_view(*found->second.disk)
                           : json(nullptr);
    // Which agents a rolling upgrade has still to reach; null: not heard since this start.
    int spoke = agent_protocols_.of(node.name);
    nodes[i]["agent_protocol"] = spoke != 0 ? json(spoke) : json(nullptr);
    nodes[i]["agent_outdated"] = spoke != 0 && spoke < protocol::kSyncProtocol;
    // For admins only: an engine's exact version helps whoever looks for its weaknesses.
    nodes[i]["engine"] = node.engine.empty() ? json(nullptr) : json(node.engine);
    nodes[i]["gpu_devices"] = node.gpu_devices.empty() ? json(nullptr) : json(node.gpu_devices);
  }
  json unknown = json::array();
  for (const auto& entry : sessions_.unknown_containers()) {
    unknown.push_back({{"node", entry.node},
                       {"session", entry.session_id},
                       {"user", entry.user},
                       {"gpu_indices", entry.gpu_indices},
                       {"host_ports", entry.host_ports},
                       {"holdings_known", entry.holdings_known},
                       {"first_seen", format_rfc3339(entry.first_seen)},
                       {"removal_requested", entry.removal_requested}});
  }
  return json{{"nodes", nodes}, {"unknown_containers", unknown}};
}

// DELETE /api/v1/nodes/{node}/unknown-containers/{session}: an admin's decision that a
// container the database does not know goes; the agent removes it at its next sync.
HttpReply Api::remove_unknown_container(const Call& call) {
  auto removed =
      sessions_.remove_unknown_container(call.parameter("node"), call.parameter("session"));
  if (!removed) return error_reply(removed.error());
  return json_reply(202, {{"status", "removing"}, {"session", call.parameter("session")}});
}

// POST /api/v1/nodes/{node}/unknown-containers/{session}/adopt: the other decision — it
// becomes a session of its labelled user again (201, the session as its owner sees it).
HttpReply Api::adopt_unknown_container(const Call& call) {
  auto adopted =
      sessions_.adopt_unknown_container(call.parameter("node"), call.parameter("session"));
  if (!adopted) return error_reply(adopted.error());
  return json_reply(201, session_view(*adopted, view_context(), clock_.now()));
}

HttpReply Api::list_nodes(const Call&) {
  auto nodes = nodes_document();
  return nodes ? json_reply(200, *nodes) : error_reply(nodes.error());
}

HttpReply Api::metrics(const Call&) {
  auto active = sessions_.active_sessions();
  if (!active) return error_reply(active.error());
  auto nodes = nodes_document(*active);
  if (!nodes) return error_reply(nodes.error());
  std::map<std::string, int> by_state;
  for (auto state : {SessionState::queued, SessionState::scheduled, SessionState::starting,
                     SessionState::running, SessionState::stopping}) {
    by_state[std::string(to_string(state))] = 0;
  }
  for (const auto& session : *active) ++by_state[std::string(to_string(session.state))];
  auto figures = session_figures(*active);
  if (!figures) return error_reply(figures.error());
  std::string text =
      prometheus_exposition(*nodes, by_state, by_state["queued"], figures->group_of_user);
  text += session_families(*figures);
  const auto& service = sessions_.metrics();
  text += request_latency_.exposition("gpupool_api_request_duration_seconds",
                                      "Time the API took to answer a call (not proxied traffic).");
  text += service.sync.exposition("gpupool_agent_sync_duration_seconds",
                                  "Time to apply an agent's report and answer it (not the hold).");
  text += service.scheduling_pass.exposition("gpupool_scheduling_pass_duration_seconds",
                                             "Time of one pass of the scheduler, with its writes.");
  text += service.queue_wait.exposition("gpupool_queue_wait_seconds",
                                        "Time from a session's request to its placement.");
  return {200, "text/plain; version=0.0.4; charset=utf-8", std::move(text), {}, nullptr};
}

Result<SessionFigures> Api::session_figures(const std::vector<Session>& active) {
  SessionFigures figures;
  figures.now = clock_.now();
  // A user in several groups is counted under the first by name.
  for (const auto& session : active) {
    if (figures.group_of_user.contains(session.username)) continue;
    auto groups = store_.groups_of(session.user_id);
    if (!groups) return groups.error();
    figures.group_of_user[session.username] = groups->empty() ? "" : groups->front().name;
  }
  const IdleWatch& idle = sessions_.idle_watch();
  for (const auto& session : active) {
    if (session.state == SessionState::queued &&
        (figures.oldest_queued_at == 0 || session.created_at < figures.oldest_queued_at))
      figures.oldest_queued_at = session.created_at;
    if (session.state != SessionState::running) continue;
    figures.running.push_back(session);
    if (idle.view(session.id))
      figures.idle_since[session.id] = services::idle_since(session, idle.last_use(session.id));
  }
  auto reclaimed = store_.idle_reclaimed_totals();
  if (!reclaimed) return reclaimed.error();
  figures.reclaimed = std::move(*reclaimed);
  auto ledger = store_.ledger_totals();
  if (!ledger) return ledger.error();
  figures.ledger_totals = std::move(*ledger);
  return figures;
}

}  // namespace gpupool::api
