// Sessions run as Slurm jobs: each job reports where its Jupyter and SSH listen on its node,
// and then, while it runs, its session's signs of use for idle reclaim. The job proves itself
// with its session's secret (Authorization: Bearer), the one thing in its script gpupool put
// there; the node's address comes from Slurm, never from a report.
#include "api/api.hpp"
#include "core/json_input.hpp"
#include "protocol/sync_json.hpp"

namespace gpupool::api {

namespace {

// The secret of an "Authorization: Bearer <secret>" header; empty when there is none.
std::string bearer_secret(const Call& call) {
  std::string authorization = call.exchange.header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  return authorization.starts_with(kBearer) ? authorization.substr(kBearer.size()) : "";
}

}  // namespace

HttpReply Api::slurm_ready(const Call& call) {
  std::string secret = bearer_secret(call);
  if (secret.empty())
    return error_reply(ErrorCode::unauthorized, "the session's secret is required (Bearer)");
  auto body = parse_json_object(call.exchange.body);
  if (!body) return error_reply(body.error());
  if (auto known =
          reject_unknown_fields(*body, {"session", "jupyter_port", "ssh_port", "ssh_host_key"});
      !known)
    return error_reply(known.error());
  auto session = required_string(*body, "session", 64);
  if (!session) return error_reply(session.error());
  auto jupyter = optional_integer(*body, "jupyter_port", 1, 65535);
  if (!jupyter) return error_reply(jupyter.error());
  auto ssh = optional_integer(*body, "ssh_port", 0, 65535);
  if (!ssh) return error_reply(ssh.error());
  auto host_key = optional_string(*body, "ssh_host_key", 16 * 1024);
  if (!host_key) return error_reply(host_key.error());
  if (!*jupyter) return error_reply(ErrorCode::invalid_argument, "jupyter_port is required");
  services::SlurmEndpoint endpoint{static_cast<int>(**jupyter), static_cast<int>(ssh->value_or(0)),
                                   host_key->value_or("")};
  auto ready = sessions_.slurm_ready(*session, secret, endpoint);
  if (!ready) return error_reply(ready.error());
  return json_reply(200, {{"session", ready->id}, {"state", to_string(ready->state)}});
}

HttpReply Api::slurm_activity(const Call& call) {
  std::string secret = bearer_secret(call);
  if (secret.empty())
    return error_reply(ErrorCode::unauthorized, "the session's secret is required (Bearer)");
  auto body = parse_json_object(call.exchange.body);
  if (!body) return error_reply(body.error());
  if (auto known = reject_unknown_fields(*body, {"session", "activity"}); !known)
    return error_reply(known.error());
  auto session = required_string(*body, "session", 64);
  if (!session) return error_reply(session.error());
  auto found = body->find("activity");
  if (found == body->end()) return error_reply(ErrorCode::invalid_argument, "activity is required");
  auto activity = protocol::session_activity_from_json(*found);
  if (!activity) return error_reply(activity.error());
  auto measured = sessions_.slurm_activity(*session, secret, *activity);
  if (!measured) return error_reply(measured.error());
  return json_reply(200, {{"session", measured->id}, {"state", to_string(measured->state)}});
}

}  // namespace gpupool::api
