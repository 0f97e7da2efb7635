// SessionService with Slurm in place of agents: Slurm's view of gpupool's jobs applied to the
// sessions (slurm_lifecycle.hpp), and the reports of the jobs themselves. Every change is one
// store transaction under the service's mutex, as an agent's sync is.
#include <map>
#include <set>

#include <fmt/format.h>

#include "auth/ssh_key.hpp"
#include "core/json_input.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "services/notices.hpp"
#include "services/scheduling_inputs.hpp"
#include "services/session_service.hpp"
#include "services/slurm_lifecycle.hpp"

namespace gpupool::services {

namespace {

std::string session_of_job(const slurm::SlurmJob& job) {
  return job.name.substr(slurm::kJobNamePrefix.size());
}

}  // namespace

Result<SlurmOrders> SessionService::slurm_sync(const SlurmReport& report) {
  SlurmOrders orders;
  bool changed = false;
  {
    std::lock_guard lock(mutex_);
    UnixMillis now = clock_.now();
    for (const auto& node : report.nodes) {
      auto recorded = record_report_locked(node, now);
      if (!recorded) return recorded.error();
    }
    // Jobs by id: a session follows the job it recorded, whatever else carries its name (any
    // user may name a job of their own "gpupool-<someone's session>").
    std::map<std::int64_t, const slurm::SlurmJob*> jobs_by_id;
    std::multimap<std::string, const slurm::SlurmJob*> jobs_by_session;
    for (const auto& job : report.jobs) {
      jobs_by_id[job.id] = &job;
      jobs_by_session.emplace(session_of_job(job), &job);
    }
    auto submitted = store_.list_active_batch_jobs();
    if (!submitted) return submitted.error();
    std::map<std::string, std::int64_t> job_ids;
    for (const auto& batch : *submitted) job_ids[batch.session_id] = batch.job_id;
    auto active = store_.list_sessions({std::nullopt, std::nullopt, true, {}});
    if (!active) return active.error();
    auto nodes = store_.list_nodes();
    if (!nodes) return nodes.error();
    auto prices = store_.list_prices();
    if (!prices) return prices.error();

    std::set<int> gateway_ports;  // SSH ports on the gateway host that sessions hold
    for (const auto& session : *active)
      if (holds_resources(session.state)) gateway_ports.insert(session.gateway_ssh_port);

    GPUPOOL_TRY(store_.in_transaction([&]() -> Status {
      GPUPOOL_TRY(check_balances_locked(*active, now));
      std::vector<Session> ended;
      for (auto& session : *active) {
        auto recorded = job_ids.find(session.id);
        const slurm::SlurmJob* job = nullptr;
        if (recorded != job_ids.end()) {
          auto found = jobs_by_id.find(recorded->second);
          if (found != jobs_by_id.end()) job = found->second;
        } else {
          // A job of the session's user that this service did not record (it stopped between
          // sbatch and the record) has no secret anyone knows: it is cancelled, and the
          // session gets a job of its own.
          auto [first, last] = jobs_by_session.equal_range(session.id);
          for (auto it = first; it != last; ++it)
            if (it->second->user == session.username && !it->second->finished())
              orders.cancel.push_back(it->second->id);
        }
        SlurmStep step = after_slurm_job(session, {job, recorded != job_ids.end(), now});
        if (step.submit) orders.submit.push_back(session);
        if (step.cancel) orders.cancel.push_back(job->id);
        if (!step.changed) continue;
        if (step.started) {
          start_meter(step.session, *nodes, *prices);
          // None left: the session is still reached directly on its node.
          step.session.gateway_ssh_port = free_port(gateway_ports, settings_.gateway_ssh_ports);
          gateway_ports.insert(step.session.gateway_ssh_port);
        }
        GPUPOOL_TRY(store_.update_session(step.session));
        changed = true;
        if (step.ended) {
          ended.push_back(step.session);
          spdlog::info("session {} ended: {}", step.session.id, step.session.reason);
          GPUPOOL_TRY(accounts_.charge(step.session));
          if (worth_telling_ended(step.session))
            GPUPOOL_TRY(tell_locked(ended_notice(step.session, now)));
        }
      }
      // What the jobs' reports left measured of ended sessions: the GPU use counted, the idle
      // watch forgotten.
      GPUPOOL_TRY(meter_gpu_use_locked(ended, {}, now));
      return check_idle_locked(ended, {}, now);
    }));
    // Jobs of sessions that have ended meanwhile (stopped while queued, say): the one each
    // recorded, or one its user's that was never recorded.
    std::set<std::string> live;
    for (const auto& session : *active) live.insert(session.id);
    for (const auto& [session_id, job] : jobs_by_session) {
      if (live.contains(session_id) || job->finished()) continue;
      auto ended = store_.get_session(session_id);
      if (!ended) return ended.error();
      if (!ended->has_value() || (*ended)->username != job->user) continue;
      orders.cancel.push_back(job->id);
    }
  }
  if (changed) notify();
  return orders;
}

Status SessionService::slurm_submitted(const std::string& session_id, std::int64_t job_id,
                                       const std::string& secret_hash) {
  std::lock_guard lock(mutex_);
  spdlog::info("session {} submitted to Slurm as job {}", session_id, job_id);
  return store_.add_batch_job({session_id, job_id, secret_hash, clock_.now()});
}

Status SessionService::slurm_refused(const std::string& session_id, const std::string& message) {
  {
    std::lock_guard lock(mutex_);
    auto found = store_.get_session(session_id);
    if (!found) return found.error();
    if (!found->has_value() || (*found)->state != SessionState::queued) return {};
    Session session = **found;
    UnixMillis now = clock_.now();
    session.state = SessionState::ended;
    session.end_reason = EndReason::failed;
    session.queue_reason.reset();
    session.reason = message;
    session.ended_at = now;
    session.updated_at = now;
    GPUPOOL_TRY(store_.in_transaction([&]() -> Status {
      GPUPOOL_TRY(store_.update_session(session));
      return tell_locked(ended_notice(session, now));
    }));
    spdlog::warn("session {}: {}", session_id, message);
  }
  notify();
  return {};
}

Result<Session> SessionService::session_of_job_locked(const std::string& session_id,
                                                      const std::string& secret) {
  auto job = store_.find_batch_job(session_id);
  if (!job) return job.error();
  // The same answer for an unknown session and a wrong secret.
  if (!job->has_value() || secret.empty() || digest_hex(secret) != (*job)->secret_hash)
    return make_error(ErrorCode::unauthorized, "not this session's job");
  auto found = store_.get_session(session_id);
  if (!found) return found.error();
  if (!found->has_value()) return make_error(ErrorCode::unauthorized, "not this session's job");
  return **found;
}

Result<Session> SessionService::slurm_ready(const std::string& session_id,
                                            const std::string& secret,
                                            const SlurmEndpoint& endpoint) {
  auto valid_port = [](int port, bool optional) {
    return (optional && port == 0) || (port >= 1024 && port <= 65535);
  };
  if (!valid_port(endpoint.jupyter_port, false) || !valid_port(endpoint.ssh_port, true))
    return make_error(ErrorCode::invalid_argument, "ports must be within 1024-65535");
  std::string host_key;
  if (!endpoint.ssh_host_key.empty()) {
    auto key = auth::normalize_ssh_public_key(endpoint.ssh_host_key);
    if (!key)
      return make_error(ErrorCode::invalid_argument, "ssh_host_key is not an SSH public key");
    host_key = key->substr(0, key->find(' ', key->find(' ') + 1));
  }
  Session session;
  {
    std::lock_guard lock(mutex_);
    auto found = session_of_job_locked(session_id, secret);
    if (!found) return found.error();
    session = std::move(*found);
    if (session.state != SessionState::starting)
      return make_error(ErrorCode::conflict,
                        fmt::format("the session is {}, not starting", to_string(session.state)));
    UnixMillis now = clock_.now();
    session.state = SessionState::running;
    session.jupyter_port = endpoint.jupyter_port;
    session.ssh_port = endpoint.ssh_port;
    session.ssh_host_key = host_key;
    session.started_at = now;
    session.reason = "";
    session.updated_at = now;
    GPUPOOL_TRY(store_.update_session(session));
  }
  spdlog::info("session {} runs on {}: Jupyter port {}, SSH port {}", session_id, session.node,
               endpoint.jupyter_port, endpoint.ssh_port);
  notify();
  return session;
}

Result<Session> SessionService::slurm_start_failure(const std::string& session_id,
                                                    const std::string& secret,
                                                    std::string_view log) {
  std::lock_guard lock(mutex_);
  auto session = session_of_job_locked(session_id, secret);
  if (!session) return session.error();
  if (session->state == SessionState::running)
    return make_error(ErrorCode::conflict, "the session runs: it did start");
  GPUPOOL_TRY(store_.save_start_log(session_id, utf8_tail(log, kMaxStartLogBytes)));
  return *session;
}

Result<Session> SessionService::slurm_activity(const std::string& session_id,
                                               const std::string& secret,
                                               const SessionActivity& activity) {
  std::vector<Session> sessions;
  bool changed = false;
  {
    std::lock_guard lock(mutex_);
    auto found = session_of_job_locked(session_id, secret);
    if (!found) return found.error();
    if (found->state != SessionState::running)
      return make_error(ErrorCode::conflict,
                        fmt::format("the session is {}, not running", to_string(found->state)));
    sessions.push_back(std::move(*found));
    ObservedSession observed;
    observed.session_id = session_id;
    observed.phase = ObservedPhase::running;
    observed.activity = activity;
    const std::map<std::string, const ObservedSession*> by_id = {{session_id, &observed}};
    UnixMillis now = clock_.now();
    UnixMillis before = sessions.front().updated_at;
    GPUPOOL_TRY(store_.in_transaction([&]() -> Status {
      GPUPOOL_TRY(meter_gpu_use_locked(sessions, by_id, now));
      return check_idle_locked(sessions, by_id, now);
    }));
    changed = sessions.front().updated_at != before;
  }
  if (changed) notify();
  return sessions.front();
}

}  // namespace gpupool::services
