#include "services/slurm_lifecycle.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace gpupool::services {

namespace {

void end(Session& session, EndReason reason, std::string why, UnixMillis at) {
  session.state = SessionState::ended;
  session.queue_reason.reset();
  session.end_reason = reason;
  session.reason = std::move(why);
  session.ended_at = at;
}

// Billed as Slurm accounts for it: from the job's start to its end.
void bill_as_slurm(Session& session, const slurm::SlurmJob& job, UnixMillis now) {
  if (job.started_at <= 0) return;
  // Slurm's clock is another machine's: nothing is billed past gpupool's now.
  session.started_at = std::min(job.started_at, now);
  session.ended_at = std::clamp(job.ended_at > 0 ? job.ended_at : now, session.started_at, now);
}

bool same(const Session& a, const Session& b) {
  return a.state == b.state && a.reason == b.reason && a.queue_reason == b.queue_reason &&
         a.node == b.node && a.gpu_indices == b.gpu_indices && a.started_at == b.started_at &&
         a.ended_at == b.ended_at && a.end_reason == b.end_reason;
}

}  // namespace

EndReason end_reason_of_job(const std::string& state) {
  if (state == "TIMEOUT" || state == "DEADLINE") return EndReason::time_limit;
  if (state == "CANCELLED") return EndReason::admin_stopped;
  if (state == "NODE_FAIL" || state == "BOOT_FAIL") return EndReason::node_lost;
  if (state == "PREEMPTED") return EndReason::preempted;
  return EndReason::failed;
}

std::string end_words_of_job(const slurm::SlurmJob& job) {
  if (job.state == "TIMEOUT") return "Slurm ended its job at its time limit";
  if (job.state == "DEADLINE") return "Slurm ended its job at its deadline";
  if (job.state == "CANCELLED") return "its job was cancelled in Slurm (scancel)";
  if (job.state == "NODE_FAIL") return fmt::format("its node {} failed", job.node);
  if (job.state == "BOOT_FAIL") return fmt::format("its node {} failed to boot", job.node);
  if (job.state == "PREEMPTED") return "Slurm preempted its job";
  if (job.state == "OUT_OF_MEMORY") return "its job ran out of memory";
  if (job.state == "COMPLETED")
    return "its job ended on its own (Jupyter exited); the job's log has the details";
  return fmt::format("its job ended in state {}; the job's log has the details", job.state);
}

SlurmStep after_slurm_job(const Session& session, const SlurmJobFacts& facts) {
  SlurmStep step;
  Session next = session;
  const slurm::SlurmJob* job = facts.job;
  bool job_done = job != nullptr && job->finished();
  bool job_running = job != nullptr && job->running();

  if (session.state == SessionState::ended) {
    // Nothing to follow: a job still listed for it is a leftover.
    step.cancel = job != nullptr && !job_done;
  } else if (session.state == SessionState::stopping) {
    if (job == nullptr || job_done) {
      if (job != nullptr) bill_as_slurm(next, *job, facts.now);
      end(next, session.end_reason, session.reason, next.ended_at > 0 ? next.ended_at : facts.now);
    } else {
      step.cancel = true;
    }
  } else if (job == nullptr) {
    if (!facts.submitted) {
      step.submit = session.state == SessionState::queued;
    } else {
      end(next, EndReason::failed, "Slurm no longer knows its job", facts.now);
    }
  } else if (job_done) {
    bill_as_slurm(next, *job, facts.now);
    end(next, end_reason_of_job(job->state), end_words_of_job(*job),
        next.ended_at > 0 ? next.ended_at : facts.now);
  } else if (job->pending()) {
    if (session.state == SessionState::queued) {
      QueueReason reason{.code = QueueReasonCode::slurm_pending, .slurm_reason = job->reason};
      next.queue_reason = reason;
      next.reason = english(reason);
    }
  } else if (job_running && session.state == SessionState::queued) {
    next.state = SessionState::starting;
    next.queue_reason.reset();
    next.node = job->node;
    next.gpu_indices = job->gpu_indices;
    next.reason = fmt::format("its job {} runs on {}; starting Jupyter", job->id, job->node);
    step.started = true;
  }
  step.ended = next.state == SessionState::ended && session.state != SessionState::ended;
  step.changed = !same(session, next);
  if (step.changed) next.updated_at = facts.now;
  step.session = std::move(next);
  return step;
}

}  // namespace gpupool::services
