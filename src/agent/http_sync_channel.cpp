#include "agent/http_sync_channel.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/json_input.hpp"
#include "protocol/sync_json.hpp"

namespace gpupool::agent {

namespace {

// Beyond the time the server may hold a sync: a call that takes longer than that is better
// cut and tried again.
constexpr std::chrono::seconds kCallTimeout{10};

// What the server said was wrong, from its {"error": {"code", "message"}} reply.
Error server_refusal(const net::HttpResponse& response, std::string_view what) {
  std::string message = fmt::format("HTTP {}", response.status);
  if (auto body = parse_json_object(response.body); body && body->contains("error")) {
    const Json& error = (*body)["error"];
    if (error.is_object() && error.contains("message") && error["message"].is_string())
      message = error["message"].get<std::string>();
  }
  ErrorCode code = ErrorCode::unavailable;
  if (response.status == 401) code = ErrorCode::unauthorized;
  if (response.status == 403 || response.status == 426) code = ErrorCode::forbidden;
  if (response.status == 409) code = ErrorCode::conflict;
  if (response.status == 400) code = ErrorCode::invalid_argument;
  return make_error(code, fmt::format("{}: {}", what, message));
}

// The newest protocol a server that refused our version speaks, if it says (0 if not).
int servers_newest_protocol(const net::HttpResponse& response) {
  auto body = parse_json_object(response.body);
  if (!body || !body->contains("protocols") || !(*body)["protocols"].is_object()) return 0;
  const Json& protocols = (*body)["protocols"];
  auto newest = protocols.find("newest");
  return newest != protocols.end() && newest->is_number_integer() ? newest->get<int>() : 0;
}

}  // namespace

Result<SyncResponse> HttpSyncChannel::sync(const SyncRequest& request) {
  net::HttpRequest call;
  call.method = "POST";
  call.target = "/api/v1/agent/sync";
  call.headers.emplace_back("Authorization", "Bearer " + credential_);
  for (;;) {
    call.body = protocol::sync_request_to_json(request, protocol_);
    auto wait = std::chrono::milliseconds(long_polls() ? request.wait_millis : 0);
    auto response =
        connection_.call(call, kCallTimeout + wait, net::kDefaultResponseLimit, &interrupter_);
    if (!response) return response.error();
    if (response->status == 426) {
      int newest = servers_newest_protocol(*response);
      if (newest >= protocol::kOldestSyncProtocol && newest < protocol_) {
        spdlog::warn(
            "the server speaks sync protocol {} at most: speaking it instead of {} "
            "until this agent restarts (upgrade the server)",
            newest, protocol_);
        protocol_ = newest;
        continue;
      }
    }
    if (response->status != 200) return server_refusal(*response, "the server refused the sync");
    return protocol::sync_response_from_json(response->body);
  }
}

Result<std::string> join_server(const net::HttpEndpoint& server, const std::string& token,
                                const std::string& node) {
  net::HttpRequest call;
  call.method = "POST";
  call.target = "/api/v1/agent/join";
  call.body = Json{{"token", token}, {"node", node}}.dump();
  auto response = net::http_call(server, call, kCallTimeout);
  if (!response) return response.error();
  if (response->status != 201) return server_refusal(*response, "the server refused the join");
  auto body = parse_json_object(response->body);
  if (!body) return body.error();
  auto credential = required_string(*body, "credential", 256);
  if (!credential) return credential.error();
  return *credential;
}

}  // namespace gpupool::agent
