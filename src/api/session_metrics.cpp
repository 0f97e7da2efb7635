// The session families of /metrics (metrics.hpp): allocation, idle time and cost rate of each
// running session, what idle reclaim gave back, and the ledger's totals.
#include <fmt/format.h>

#include "api/metrics.hpp"

namespace gpupool::api {

namespace {

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n", name, help, type);
}

std::string session_labels(const Session& session, const SessionFigures& figures) {
  auto group = figures.group_of_user.find(session.username);
  return fmt::format("session=\"{}\",user=\"{}\",group=\"{}\",model=\"{}\",node=\"{}\"",
                     prometheus_label(session.id), prometheus_label(session.username),
                     prometheus_label(group != figures.group_of_user.end() ? group->second : ""),
                     prometheus_label(session.billed_gpu_model), prometheus_label(session.node));
}

}  // namespace

std::string session_families(const SessionFigures& figures) {
  std::string out;
  family(out, "gpupool_session_gpus", "gauge",
         "GPUs a running session holds (a share counts its fraction of the GPU's memory).");
  for (const auto& session : figures.running)
    out += fmt::format("gpupool_session_gpus{{{}}} {}\n", session_labels(session, figures),
                       session.billed_gpus);
  family(out, "gpupool_session_idle_seconds", "gauge",
         "Seconds since a running session was last used (GPU, CPU, notebook or SSH).");
  for (const auto& session : figures.running) {
    auto since = figures.idle_since.find(session.id);
    if (since == figures.idle_since.end()) continue;
    out += fmt::format("gpupool_session_idle_seconds{{{}}} {}\n", session_labels(session, figures),
                       std::max<UnixMillis>(0, figures.now - since->second) / 1000);
  }
  family(out, "gpupool_session_idle_warned", "gauge",
         "1 while a running session's owner has been warned that it will be reclaimed.");
  for (const auto& session : figures.running)
    out += fmt::format("gpupool_session_idle_warned{{{}}} {}\n", session_labels(session, figures),
                       session.idle_warned_at != 0 ? 1 : 0);
  family(out, "gpupool_session_cost_credits_per_hour", "gauge",
         "What a running session costs its owner per hour.");
  for (const auto& session : figures.running)
    out += fmt::format("gpupool_session_cost_credits_per_hour{{{}}} {}\n",
                       session_labels(session, figures),
                       static_cast<double>(session.rate_micros_per_hour) / 1e6);
  family(out, "gpupool_queue_oldest_wait_seconds", "gauge",
         "How long the request waiting longest has waited; 0 when none waits.");
  out += fmt::format("gpupool_queue_oldest_wait_seconds {}\n",
                     figures.oldest_queued_at == 0
                         ? 0
                         : std::max<UnixMillis>(0, figures.now - figures.oldest_queued_at) / 1000);
  family(out, "gpupool_idle_reclaimed_sessions_total", "counter",
         "Sessions idle reclaim ended, by the GPU model they held.");
  for (const auto& total : figures.reclaimed)
    out += fmt::format("gpupool_idle_reclaimed_sessions_total{{model=\"{}\"}} {}\n",
                       prometheus_label(total.gpu_model), total.sessions);
  family(out, "gpupool_idle_reclaimed_gpus_total", "counter",
         "GPUs idle reclaim gave back to the pool (fractions for shares), by model.");
  for (const auto& total : figures.reclaimed)
    out += fmt::format("gpupool_idle_reclaimed_gpus_total{{model=\"{}\"}} {}\n",
                       prometheus_label(total.gpu_model), total.gpus);
  family(out, "gpupool_ledger_credits_total", "counter",
         "Credits through the ledger since it began, by kind (charges as positive amounts).");
  for (auto kind : {LedgerKind::top_up, LedgerKind::adjustment, LedgerKind::charge}) {
    auto found = figures.ledger_totals.find(kind);
    std::int64_t micros = found != figures.ledger_totals.end() ? found->second : 0;
    if (kind == LedgerKind::charge) micros = -micros;
    out += fmt::format("gpupool_ledger_credits_total{{kind=\"{}\"}} {}\n", to_string(kind),
                       static_cast<double>(micros) / 1e6);
  }
  return out;
}

}  // namespace gpupool::api
