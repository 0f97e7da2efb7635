#include "agent/http_sync_channel.hpp"

#include <fmt/format.h>

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

}  // namespace

Result<SyncResponse> HttpSyncChannel::sync(const SyncRequest& request) {
  net::HttpRequest call;
  call.method = "POST";
  call.target = "/api/v1/agent/sync";
  call.body = protocol::sync_request_to_json(request);
  call.headers.emplace_back("Authorization", "Bearer " + server_.credential);
  auto timeout = kCallTimeout + std::chrono::milliseconds(request.wait_millis);
  auto response =
      net::http_call(server_.endpoint, call, timeout, net::kDefaultResponseLimit, &interrupter_);
  if (!response) return response.error();
  if (response->status != 200) return server_refusal(*response, "the server refused the sync");
  return protocol::sync_response_from_json(response->body);
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
