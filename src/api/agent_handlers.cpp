// GPU servers joining the pool and syncing with it: join tokens (admins), the join itself
// (anyone holding a token), the sync (a node credential, for its own node only), and an
// admin removing a node's credentials.
#include <fmt/format.h>

#include "api/api.hpp"
#include "core/json_input.hpp"
#include "protocol/sync_json.hpp"

namespace gpupool::api {

using nlohmann::json;

namespace {

json join_token_view(const JoinToken& token, UnixMillis now) {
  std::string state = "live";
  if (token.revoked_at != 0) {
    state = "revoked";
  } else if (token.expires_at <= now) {
    state = "expired";
  } else if (token.uses_left == 0) {
    state = "used up";
  }
  return {{"id", token.id},
          {"description", token.description},
          {"created_by", token.created_by},
          {"created_at", format_rfc3339(token.created_at)},
          {"expires_at", format_rfc3339(token.expires_at)},
          {"uses_left", token.uses_left < 0 ? json(nullptr) : json(token.uses_left)},
          {"used", token.used},
          {"state", state}};
}

// The longest a sync is held: well inside the shortest grace before a silent node is lost
// (60 s), since the node's last report is that of the held sync's start.
constexpr std::int64_t kMaxHeldSyncMillis = 30'000;

// A sync held until its node's desired state moves from what the agent holds, or its wait
// passes; then answered with the node's state as it is by then.
class HeldSync final : public PendingReply {
 public:
  HeldSync(SyncWaits& waits, std::string node, std::string held, std::uint64_t generation,
           std::chrono::milliseconds wait, std::function<HttpReply()> answer)
      : waits_(waits),
        node_(std::move(node)),
        held_(std::move(held)),
        generation_(generation),
        wait_(wait),
        answer_(std::move(answer)) {}
  ~HeldSync() override {
    if (id_ != 0) waits_.withdraw(id_);
  }
  HeldSync(const HeldSync&) = delete;
  HeldSync& operator=(const HeldSync&) = delete;

  std::chrono::milliseconds wait() const override { return wait_; }
  void start(std::function<void()> ready) override {
    id_ = waits_.wait(node_, held_, generation_, std::move(ready));
  }
  HttpReply reply() override { return answer_(); }

 private:
  SyncWaits& waits_;
  const std::string node_;
  const std::string held_;
  const std::uint64_t generation_;
  const std::chrono::milliseconds wait_;
  const std::function<HttpReply()> answer_;
  std::uint64_t id_ = 0;
};

// In the agent's own protocol version.
HttpReply sync_reply(const Result<SyncResponse>& response, int version) {
  if (!response) return error_reply(response.error());
  HttpReply reply;
  reply.body = protocol::sync_response_to_json(*response, version);
  return reply;
}

// Says which versions this server speaks, so that a newer agent can speak down to it.
HttpReply upgrade_required(const std::string& message) {
  return json_reply(
      426, {{"error", {{"code", "upgrade_required"}, {"message", message}}},
            {"protocols",
             {{"oldest", protocol::kOldestSyncProtocol}, {"newest", protocol::kSyncProtocol}}}});
}

}  // namespace

// POST /api/v1/join-tokens {description?, valid_hours?, uses?} → 201 with the token, shown
// this once. uses: 1 by default; -1 for any number of joins until it expires.
HttpReply Api::create_join_token(const Call& call) {
  auto body = parse_json_object(call.exchange.body.empty() ? "{}" : call.exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"description", "valid_hours", "uses"});
  if (!known) return error_reply(known.error());
  auto description = optional_string(*body, "description", 200);
  if (!description) return error_reply(description.error());
  auto hours = optional_integer(*body, "valid_hours", 1, 24 * 365);
  if (!hours) return error_reply(hours.error());
  auto uses = optional_integer(*body, "uses", -1, 10'000);
  if (!uses) return error_reply(uses.error());
  services::JoinTokenRequest request;
  request.description = description->value_or("");
  request.valid_for = hours->value_or(24) * 3600 * 1000;
  request.uses = static_cast<int>(uses->value_or(1));
  auto made = enrollment_.create_join_token(request, call.caller().user.username);
  if (!made) return error_reply(made.error());
  json view = join_token_view(made->token, clock_.now());
  view["token"] = made->secret_text;
  return json_reply(201, view);
}

HttpReply Api::list_join_tokens(const Call&) {
  auto tokens = enrollment_.list_join_tokens();
  if (!tokens) return error_reply(tokens.error());
  json list = json::array();
  UnixMillis now = clock_.now();
  for (const auto& token : *tokens) list.push_back(join_token_view(token, now));
  return json_reply(200, {{"join_tokens", list}});
}

HttpReply Api::revoke_join_token(const Call& call) {
  auto revoked = enrollment_.revoke_join_token(call.parameter("id"));
  if (!revoked) return error_reply(revoked.error());
  return json_reply(200, {{"id", call.parameter("id")}, {"state", "revoked"}});
}

// POST /api/v1/agent/join {token, node} → {node, credential, protocol}. Open to anyone: the
// token is the credential. Every attempt is in the audit log.
HttpReply Api::agent_join(const Call& call) {
  auto body = parse_json_object(call.exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"token", "node"});
  if (!known) return error_reply(known.error());
  auto token = required_string(*body, "token", 200);
  if (!token) return error_reply(token.error());
  auto node = required_string(*body, "node", 63);
  if (!node) return error_reply(node.error());
  auto credential = enrollment_.join(*token, *node);
  std::string token_id = token->substr(0, std::min<std::size_t>(token->find('.'), 16));
  HttpReply reply = credential ? json_reply(201, {{"node", *node},
                                                  {"credential", *credential},
                                                  {"protocol", protocol::kSyncProtocol}})
                               : error_reply(credential.error());
  audit_.record({0, 0, "node:" + *node, client_address(call.exchange),
                 credential ? "node joined" : "node join refused", "join_token=" + token_id,
                 reply.status, credential ? "" : credential.error().message});
  return reply;
}

// POST /api/v1/agent/sync: the node's report → its desired state (protocol/sync_json.hpp).
HttpReply Api::agent_sync(const Call& call) {
  const std::string& body = call.exchange.body;
  int version = protocol::sync_protocol_of(body);
  if (version < protocol::kOldestSyncProtocol) {
    return upgrade_required(fmt::format(
        "this agent speaks sync protocol {}; this server needs {} to {}: upgrade gpupool on node "
        "{}",
        version, protocol::kOldestSyncProtocol, protocol::kSyncProtocol, call.node));
  }
  if (version > protocol::kSyncProtocol) {
    return upgrade_required(
        fmt::format("this agent speaks sync protocol {}, newer than this server's {}: upgrade "
                    "the server first, then the agents",
                    version, protocol::kSyncProtocol));
  }
  auto request = protocol::sync_request_from_json(body);
  if (!request) return error_reply(request.error());
  if (request->node.name != call.node) {
    return error_reply(ErrorCode::forbidden,
                       fmt::format("this credential is for node {}, not {}", call.node,
                                   request->node.name.substr(0, 63)));
  }
  agent_protocols_.record(call.node, version);
  // The gateway reaches the node's sessions where its agent connects from, not where the
  // agent says: a node must not point the gateway at the server's own or another host.
  request->node.jupyter_host = client_address(call.exchange);
  if (settings_.telemetry != nullptr)
    settings_.telemetry->record(call.node, request->gpu_readings, clock_.now(), request->disk);
  SyncWaits* waits = settings_.sync_waits;
  std::uint64_t generation = waits != nullptr ? waits->generation() : 0;
  auto response = sessions_.sync(*request);
  // The report is applied at once, always; only an answer that would tell the agent nothing
  // new waits, for a change or the heartbeat.
  if (!response || waits == nullptr || request->wait_millis == 0 ||
      request->held_state != response->state) {
    return sync_reply(response, version);
  }
  std::chrono::milliseconds wait(std::min(request->wait_millis, kMaxHeldSyncMillis));
  std::string node = call.node;
  std::string held = response->state;
  HttpReply reply;
  reply.pending =
      std::make_shared<HeldSync>(*waits, std::move(node), std::move(held), generation, wait,
                                 [this, version, report = std::move(*request)] {
                                   return sync_reply(sessions_.desired_for(report), version);
                                 });
  return reply;
}

ViewContext Api::view_context() const {
  ViewContext context = settings_.view;
  context.telemetry = settings_.telemetry;
  context.idle = &sessions_.idle_watch();
  if (auto nodes = store_.list_nodes()) {
    for (const auto& node : *nodes) {
      context.node_hosts[node.name] = node.address;
      if (node.simulated) context.simulated_nodes.insert(node.name);
      if (node.shared_homes) context.shared_home_nodes.insert(node.name);
      if (node.app_relay_port > 0) context.relaying_nodes.insert(node.name);
    }
    // `gpupool server` has no GPUs of its own: its pool is simulated if a node's is.
    context.simulated = context.simulated || !context.simulated_nodes.empty();
  }
  if (auto images = store_.list_images()) {
    for (const auto& image : *images) {
      if (!image.ssh) context.images_without_ssh.insert(image.tag);
      if (!image.check.code_server.empty()) context.images_with_vscode.insert(image.tag);
    }
  }
  return context;
}

// DELETE /api/v1/nodes/{node}: its agent's credentials are revoked (it is refused from its
// next sync) and the name may join again. Its sessions end as node_lost once it has been
// silent for the grace period, as for any node that stops syncing.
HttpReply Api::remove_node(const Call& call) {
  const std::string& node = call.parameter("node");
  auto revoked = enrollment_.revoke_node(node);
  if (!revoked) return error_reply(revoked.error());
  return json_reply(200, {{"node", node}, {"credentials_revoked", *revoked}});
}

}  // namespace gpupool::api
