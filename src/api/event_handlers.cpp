// GET /api/v1/events: the portal's live view (see event_stream.hpp).
#include <fmt/format.h>

#include "api/api.hpp"
#include "gateway/event_stream.hpp"
#include "gateway/replies.hpp"

namespace gpupool::api {

HttpReply Api::events(const Call& call) {
  const Principal& principal = call.caller();
  auto slot = open_streams_.take(std::to_string(principal.user.id));
  if (!slot) {
    return error_reply(
        ErrorCode::rate_limited,
        fmt::format("at most {} live views at once; close a tab or two", kMaxEventStreamsPerUser));
  }
  gateway::EventSources sources;
  // Admins also get the nodes with their GPUs' readings, which move without the store.
  bool admin = principal.user.admin;
  const TelemetryBoard* telemetry = admin ? settings_.telemetry : nullptr;
  sources.change_count = [this, telemetry] {
    return sessions_.change_count() + (telemetry != nullptr ? telemetry->version() : 0);
  };
  sources.documents = [this, user = principal.user]() -> Result<gateway::NamedDocuments> {
    auto sessions = sessions_.list_sessions(user, false);
    if (!sessions) return sessions.error();
    auto pool = sessions_.pool();
    if (!pool) return pool.error();
    // Every heartbeat moves a node's last_seen; the page does not show it, and sending the
    // pool for it would redraw the page every few seconds for nothing.
    auto pool_document = pool_view(*pool);
    for (auto& node : pool_document["nodes"]) node.erase("last_seen");
    gateway::NamedDocuments documents{
        {"sessions", sessions_document(*sessions).dump()},
        {"pool", pool_document.dump()},
        {"notifications", notifications_document(user.id, 20).dump()}};
    if (user.admin) {
      auto nodes = nodes_document();
      if (!nodes) return nodes.error();
      for (auto& node : (*nodes)["nodes"]) {
        node.erase("last_seen");
        node.erase("telemetry_at");
      }
      documents.emplace_back("nodes", nodes->dump());
    }
    return documents;
  };
  sources.still_allowed = [this, principal] { return auth_.recheck(principal).ok(); };
  sources.now = [this] { return clock_.now(); };
  auto stream = std::make_shared<gateway::EventStream>(std::move(sources));
  // Logout ends the stream like the login's WebSockets.
  TunnelRegistry* tunnels = settings_.tunnels;
  if (tunnels != nullptr) tunnels->add(principal.credential_digest, stream);
  stream->on_release(
      [slot = std::move(slot), tunnels, digest = principal.credential_digest, raw = stream.get()] {
        if (tunnels != nullptr) tunnels->remove(digest, raw);
      });
  HttpReply reply;
  reply.content_type = "text/event-stream";
  reply.stream = std::move(stream);
  return reply;
}

}  // namespace gpupool::api
