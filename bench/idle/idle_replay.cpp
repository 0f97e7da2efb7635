// Idle reclaim on a replayed profile: the Alibaba GPU trace's sessions (their GPUs and how long
// their work ran), each followed — for a share of them — by an idle tail in which its owner
// has left it allocated. The server's own rules (services/idle_rules.hpp, the lifecycle's
// after_idle_check) judge each session at every check, as the server does at every sync.
// Reports, per idle window, how many of the allocated-but-idle GPU-hours beyond the window and
// grace were reclaimed, and whether any session was reclaimed while its work still ran.
//
// Usage: idle_replay JOBS_CSV [IDLE_SHARE] [MEAN_IDLE_HOURS] [SEED]
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "services/idle_rules.hpp"
#include "services/session_lifecycle.hpp"
#include "sim/trace.hpp"

using namespace gpupool;

namespace {

constexpr UnixMillis kSecond = 1000;
constexpr UnixMillis kMinute = 60 * kSecond;
constexpr UnixMillis kHour = 60 * kMinute;
constexpr UnixMillis kCheckEvery = kMinute;  // a sync carries a measurement at least this often
constexpr UnixMillis kMeasureEvery = 30 * kSecond;  // the agent's --activity-interval

struct Profile {
  double gpus = 0;
  bool over_ssh = false;  // the work runs in an SSH login, not in a notebook
  UnixMillis work = 0;    // busy, with short pauses
  UnixMillis idle_tail = 0;
  std::vector<std::pair<UnixMillis, UnixMillis>> pauses;  // within the work: [start, end)
};

struct Outcome {
  UnixMillis reclaimed_at = 0;  // 0: ran to its end
};

// How a session is judged: gpupool's rules with every signal, or a culler that watches
// notebook kernels only (JupyterHub's idle culler does, through Jupyter's activity).
enum class Judge { all_signals, kernels_only };

// What a measurement shows: busy (a training loop) or quiet (a notebook between cells, a loop
// waiting on data). Work over SSH shows in the CPU, the GPU and the login, not in a kernel.
SessionActivity activity(bool busy, bool over_ssh, Judge judge) {
  SessionActivity measured;
  measured.cpu_cores = busy ? 2.0 : 0.01;
  measured.gpu_utilization_percent = busy ? 85 : 0;
  measured.ssh_connections = busy && over_ssh ? 1 : 0;
  measured.busy_kernels = busy && !over_ssh ? 1 : 0;
  if (judge == Judge::kernels_only) {
    measured.cpu_cores = 0;
    measured.gpu_utilization_percent = 0;
    measured.ssh_connections = 0;
  }
  return measured;
}

// The session through the server's rules: checks every minute where something can change
// (pauses, the tail), jumps over stretches of steady use (the rules change nothing there). The
// last measurement that saw use is up to one measuring interval before use stopped, and the
// checks fall at any phase of the minute.
Outcome replay(const Profile& profile, const IdlePolicy& policy, Judge judge,
               std::mt19937_64& random) {
  std::uniform_int_distribution<UnixMillis> measured_before(0, kMeasureEvery - 1);
  std::uniform_int_distribution<UnixMillis> check_phase(0, kCheckEvery - 1);
  services::IdleThresholds thresholds;
  Session session;
  session.id = "s";
  session.state = SessionState::running;
  session.started_at = 1;
  UnixMillis end = session.started_at + profile.work + profile.idle_tail;
  UnixMillis last_use = session.started_at;
  std::vector<std::pair<UnixMillis, UnixMillis>> quiet = profile.pauses;
  quiet.emplace_back(profile.work, profile.work + profile.idle_tail);
  UnixMillis now = session.started_at;
  bool busy_unseen = judge == Judge::kernels_only && profile.over_ssh;
  if (busy_unseen) quiet = {{0, profile.work + profile.idle_tail}};  // never seen in use
  for (const auto& [from, to] : quiet) {
    // Busy up to the pause: in use at every check.
    now = std::max(now, session.started_at + from);
    if (!busy_unseen) last_use = std::max(last_use, now - measured_before(random));
    for (UnixMillis t = now + check_phase(random); t < session.started_at + to && t < end;
         t += kCheckEvery) {
      bool busy = busy_unseen && t < session.started_at + profile.work;
      auto seen = services::last_use_in(activity(busy, profile.over_ssh, judge), thresholds, t);
      if (seen) last_use = std::max(last_use, *seen);
      auto next = services::after_idle_check(session, policy, last_use, t);
      session = next.session;
      if (session.state == SessionState::stopping) return {t};
    }
    now = session.started_at + to;
    if (busy_unseen) break;
    // Used again: the next check lifts any warning.
    auto back = services::after_idle_check(session, policy, now, now);
    session = back.session;
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: idle_replay JOBS_CSV [IDLE_SHARE] [MEAN_IDLE_HOURS] [SEED]\n");
    return 2;
  }
  double idle_share = argc > 2 ? std::stod(argv[2]) : 0.4;
  double mean_idle_hours = argc > 3 ? std::stod(argv[3]) : 12;
  unsigned seed = argc > 4 ? static_cast<unsigned>(std::stoul(argv[4])) : 1;
  auto pods = sim::read_trace_pods(argv[1]);
  if (!pods) {
    std::fprintf(stderr, "%s\n", pods.error().message.c_str());
    return 1;
  }
  std::mt19937_64 random(seed);
  std::bernoulli_distribution leaves_it(idle_share);
  std::bernoulli_distribution over_ssh(0.5);  // half the work runs in SSH logins
  std::exponential_distribution<double> tail_hours(1 / mean_idle_hours);
  std::exponential_distribution<double> minutes_between_pauses(1.0 / 90);
  std::exponential_distribution<double> pause_minutes(1.0 / 8);
  constexpr UnixMillis kLongestWork = 14 * 24 * kHour;  // sessions are capped at two weeks
  std::vector<Profile> profiles;
  for (const auto& pod : *pods) {
    if (pod.gpus == 0 || pod.duration_s < 60) continue;
    Profile profile;
    profile.gpus = pod.gpus == 1 && pod.gpu_milli < 1000 ? pod.gpu_milli / 1000.0 : pod.gpus;
    profile.work = std::min(pod.duration_s * kSecond, kLongestWork);
    // Work pauses now and then (reading results, a slow data load): under 40 minutes.
    for (UnixMillis at = 0;;) {
      at += static_cast<UnixMillis>(minutes_between_pauses(random) * kMinute);
      if (at >= profile.work) break;
      UnixMillis length = std::min<UnixMillis>(40 * kMinute, pause_minutes(random) * kMinute);
      profile.pauses.emplace_back(at, std::min(profile.work, at + length));
      at += length;
    }
    profile.over_ssh = over_ssh(random);
    if (leaves_it(random)) profile.idle_tail = static_cast<UnixMillis>(tail_hours(random) * kHour);
    profiles.push_back(std::move(profile));
  }
  auto ssh = std::count_if(profiles.begin(), profiles.end(),
                           [](const Profile& profile) { return profile.over_ssh; });
  std::printf(
      "%zu sessions with GPUs (%zd working over SSH); %.0f%% left idle after their work, idle "
      "tails averaging %.0f h\n",
      profiles.size(), ssh, idle_share * 100, mean_idle_hours);
  std::printf("%-13s %-8s %-7s %11s %13s %10s %8s %15s\n", "judged by", "window", "grace",
              "idle GPU-h", "beyond grace", "reclaimed", "share", "busy reclaimed");
  for (auto [judge, window] : {std::pair{Judge::all_signals, 30 * kMinute},
                               {Judge::all_signals, kHour},
                               {Judge::all_signals, 2 * kHour},
                               {Judge::kernels_only, kHour}}) {
    IdlePolicy policy{window, 15 * kMinute, 0, false};
    double idle_hours = 0, beyond = 0, reclaimed = 0;
    int busy_reclaimed = 0;
    for (const auto& profile : profiles) {
      Outcome outcome = replay(profile, policy, judge, random);
      UnixMillis work_end = 1 + profile.work;
      UnixMillis end = work_end + profile.idle_tail;
      idle_hours += profile.gpus * static_cast<double>(profile.idle_tail) / kHour;
      beyond +=
          profile.gpus *
          static_cast<double>(std::max<UnixMillis>(0, profile.idle_tail - window - policy.grace)) /
          kHour;
      if (outcome.reclaimed_at == 0) continue;
      if (outcome.reclaimed_at < work_end) ++busy_reclaimed;
      reclaimed += profile.gpus * static_cast<double>(end - outcome.reclaimed_at) / kHour;
    }
    std::printf("%-13s %-8s %-7s %11.0f %13.0f %10.0f %7.1f%% %15d\n",
                judge == Judge::all_signals ? "all signals" : "kernels only",
                fmt::format("{} min", window / kMinute).c_str(), "15 min", idle_hours, beyond,
                reclaimed, beyond > 0 ? 100 * reclaimed / beyond : 100.0, busy_reclaimed);
  }
  return 0;
}
