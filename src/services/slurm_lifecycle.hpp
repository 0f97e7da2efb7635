// A session run as a Slurm job: what Slurm's view of its job means for the session, as a pure
// function (the agents' counterpart is session_lifecycle.hpp's after_sync). Slurm places and
// ends jobs; gpupool follows:
//
//   queued (no job) ──submitted──► queued, with Slurm's pending reason
//   queued ──job running──► starting (its node and GPUs) ──job reports its ports──► running
//   any ──job ended (time limit, scancel, node failure, preemption, exit)──► ended, billed
//     for the job's own start and end
//   stopping (owner, admin, balance) ──► its job is cancelled ──job gone──► ended
//   submitted, job unknown to Slurm ──► ended (failed)
#pragma once

#include <cstdint>
#include <string>

#include "core/clock.hpp"
#include "model/session.hpp"
#include "slurm/slurm_job.hpp"

namespace gpupool::services {

struct SlurmJobFacts {
  const slurm::SlurmJob* job = nullptr;  // null: Slurm does not list a job of the session's
  bool submitted = false;                // gpupool submitted one (its id is stored)
  UnixMillis now = 0;
};

struct SlurmStep {
  Session session;
  bool changed = false;
  bool ended = false;    // it has just ended: charge it
  bool started = false;  // its job has just started: its meter is to be set
  bool submit = false;   // no job yet: submit one
  bool cancel = false;   // its job runs but the session is stopping: cancel it
};

SlurmStep after_slurm_job(const Session& session, const SlurmJobFacts& facts);

// The end reason for a job that ended in `state` while its session was not being stopped, and
// the words for it.
EndReason end_reason_of_job(const std::string& state);
std::string end_words_of_job(const slurm::SlurmJob& job);

}  // namespace gpupool::services
