// Sessions run as Slurm jobs: each job reports where its Jupyter and SSH listen on its node,
// and then, while it runs, its session's signs of use for idle reclaim. The job proves itself
// with its session's secret (Authorization: Bearer), the one thing in its script gpupool put
// there; the node's address comes from Slurm, never from a report.
#include "api/api.hpp"
#include "core/base64.hpp"
#include "core/json_input.hpp"
#include "protocol/sync_json.hpp"

namespace gpupool::api {

namespace {

// A job's report: its session's secret (Authorization: Bearer), its JSON body with only
// `fields`, and the session it speaks for.
struct JobReport {
  std::string secret;
  Json body;
  std::string session;
};

Result<JobReport> read_job_report(const Call& call,
                                  std::initializer_list<std::string_view> fields) {
  std::string authorization = call.exchange.header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!authorization.starts_with(kBearer) || authorization.size() == kBearer.size())
    return make_error(ErrorCode::unauthorized, "the session's secret is required (Bearer)");
  auto body = parse_json_object(call.exchange.body);
  if (!body) return body.error();
  GPUPOOL_TRY(reject_unknown_fields(*body, fields));
  auto session = required_string(*body, "session", 64);
  if (!session) return session.error();
  return JobReport{authorization.substr(kBearer.size()), std::move(*body), std::move(*session)};
}

HttpReply session_state_reply(const Session& session) {
  return json_reply(200, {{"session", session.id}, {"state", to_string(session.state)}});
}

}  // namespace

HttpReply Api::slurm_ready(const Call& call) {
  auto report = read_job_report(call, {"session", "jupyter_port", "ssh_port", "ssh_host_key"});
  if (!report) return error_reply(report.error());
  auto jupyter = optional_integer(report->body, "jupyter_port", 1, 65535);
  if (!jupyter) return error_reply(jupyter.error());
  auto ssh = optional_integer(report->body, "ssh_port", 0, 65535);
  if (!ssh) return error_reply(ssh.error());
  auto host_key = optional_string(report->body, "ssh_host_key", 16 * 1024);
  if (!host_key) return error_reply(host_key.error());
  if (!*jupyter) return error_reply(ErrorCode::invalid_argument, "jupyter_port is required");
  services::SlurmEndpoint endpoint{static_cast<int>(**jupyter), static_cast<int>(ssh->value_or(0)),
                                   host_key->value_or("")};
  auto ready = sessions_.slurm_ready(report->session, report->secret, endpoint);
  if (!ready) return error_reply(ready.error());
  return session_state_reply(*ready);
}

HttpReply Api::slurm_activity(const Call& call) {
  auto report = read_job_report(call, {"session", "activity"});
  if (!report) return error_reply(report.error());
  auto found = report->body.find("activity");
  if (found == report->body.end())
    return error_reply(ErrorCode::invalid_argument, "activity is required");
  auto activity = protocol::session_activity_from_json(*found);
  if (!activity) return error_reply(activity.error());
  auto measured = sessions_.slurm_activity(report->session, report->secret, *activity);
  if (!measured) return error_reply(measured.error());
  return session_state_reply(*measured);
}

// The job's log, base64 (a shell writes it without a JSON encoder): at most what a start log
// keeps, from its end.
HttpReply Api::slurm_start_failure(const Call& call) {
  auto report = read_job_report(call, {"session", "log"});
  if (!report) return error_reply(report.error());
  auto encoded = optional_string(report->body, "log", 4 * kMaxStartLogBytes);
  if (!encoded) return error_reply(encoded.error());
  auto log = base64_decode(encoded->value_or(""));
  if (!log) return error_reply(ErrorCode::invalid_argument, "log is not base64");
  auto saved = sessions_.slurm_start_failure(report->session, report->secret, *log);
  if (!saved) return error_reply(saved.error());
  return session_state_reply(*saved);
}

}  // namespace gpupool::api
