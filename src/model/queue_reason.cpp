#include "model/queue_reason.hpp"

#include <array>
#include <cmath>
#include <utility>

#include <fmt/format.h>

namespace gpupool {

namespace {

constexpr std::array<std::pair<QueueReasonCode, std::string_view>, 12> kCodes{{
    {QueueReasonCode::no_such_model, "no_such_model"},
    {QueueReasonCode::no_node_with_labels, "no_node_with_labels"},
    {QueueReasonCode::no_driver_for_cuda, "no_driver_for_cuda"},
    {QueueReasonCode::driver_too_old, "driver_too_old"},
    {QueueReasonCode::waiting_for_cpus_or_memory, "waiting_for_cpus_or_memory"},
    {QueueReasonCode::waiting_for_ports, "waiting_for_ports"},
    {QueueReasonCode::waiting_behind_reservation, "waiting_behind_reservation"},
    {QueueReasonCode::waiting_for_gpu_memory, "waiting_for_gpu_memory"},
    {QueueReasonCode::waiting_for_cpus_and_memory, "waiting_for_cpus_and_memory"},
    {QueueReasonCode::waiting_for_gpus, "waiting_for_gpus"},
    {QueueReasonCode::over_model_quota, "over_model_quota"},
    {QueueReasonCode::slurm_pending, "slurm_pending"},
}};

// Slurm's commonest pending reasons (squeue's REASON), in words a user can act on; the rest
// are named as Slurm names them.
constexpr std::array<std::pair<std::string_view, std::string_view>, 16> kSlurmReasons{{
    {"Resources", "Slurm is waiting for the GPUs, CPUs or memory it asks for to be free"},
    {"Priority", "Slurm has jobs of higher priority waiting ahead of it"},
    {"None", "Slurm has not yet looked at it"},
    {"QOSMaxGRESPerUser",
     "your QOS's limit of GPUs per user is reached: it waits for one of your jobs to end"},
    {"QOSMaxJobsPerUserLimit", "your QOS's limit of jobs per user is reached"},
    {"QOSMaxSubmitJobPerUserLimit", "your QOS's limit of jobs per user is reached"},
    {"AssocGrpGRES", "your account's GPU limit is reached"},
    {"AssocMaxJobsLimit", "your account's limit of jobs is reached"},
    {"AssocGrpGRESMinutes", "your account's GPU-minutes are used up"},
    {"ReqNodeNotAvail", "the nodes it could run on are unavailable (down, drained or reserved)"},
    {"PartitionDown", "its partition is down"},
    {"PartitionInactive", "its partition is inactive"},
    {"PartitionTimeLimit", "its time limit is longer than its partition allows"},
    {"JobHeldAdmin", "an administrator holds it"},
    {"JobHeldUser", "it is held"},
    {"BeginTime", "it may not start yet"},
}};

std::string slurm_words(const std::string& code) {
  for (const auto& [name, words] : kSlurmReasons)
    if (name == code) return std::string(words);
  return fmt::format("Slurm keeps it pending ({})", code);
}

std::string plural(long count, std::string_view word) {
  return fmt::format("{} {}{}", count, word, count == 1 ? "" : "s");
}

std::string gigabytes(std::int64_t megabytes) {
  return fmt::format("{:g} GB", static_cast<double>(megabytes) / 1024.0);
}

std::string model_prefix(const std::string& model) {
  return model.empty() ? "" : model + " ";
}

std::string why(const QueueReason& reason) {
  switch (reason.code) {
    case QueueReasonCode::no_such_model:
      return fmt::format("no {} GPUs in the pool", reason.gpu_model);
    case QueueReasonCode::no_node_with_labels:
      return "no usable node has the labels the request selects";
    case QueueReasonCode::no_driver_for_cuda:
      return fmt::format("needs CUDA {}; no node has an NVIDIA driver", reason.cuda);
    case QueueReasonCode::driver_too_old:
      return fmt::format("needs CUDA {}; node {} driver supports {}", reason.cuda, reason.node,
                         reason.driver_cuda);
    case QueueReasonCode::waiting_for_cpus_or_memory: {
      std::string what = reason.cpus > 0
                             ? fmt::format("{:g} CPU{}", reason.cpus, reason.cpus == 1 ? "" : "s")
                             : "";
      if (reason.memory_mb > 0)
        what += (what.empty() ? "" : " and ") + gigabytes(reason.memory_mb) + " of memory";
      return fmt::format("waiting for {} on a node with free GPUs", what);
    }
    case QueueReasonCode::waiting_for_ports:
      return "waiting for free host ports on a node with free GPUs";
    case QueueReasonCode::waiting_behind_reservation:
      return "waiting behind an earlier request that holds the free GPUs";
    case QueueReasonCode::waiting_for_gpu_memory:
      return fmt::format("waiting for a {}GPU with {} free", model_prefix(reason.gpu_model),
                         gigabytes(reason.gpu_memory_mb));
    case QueueReasonCode::waiting_for_cpus_and_memory:
      return fmt::format("waiting for {} and {} of memory",
                         plural(static_cast<long>(reason.cpus), "CPU"),
                         gigabytes(reason.memory_mb));
    case QueueReasonCode::waiting_for_gpus:
      return fmt::format("waiting for {} on one node",
                         plural(reason.gpus, "free " + model_prefix(reason.gpu_model) + "GPU"));
    case QueueReasonCode::over_model_quota:
      return fmt::format("waiting within the quota: {} may hold {} {} GPU{} at once", reason.holder,
                         reason.limit, reason.gpu_model, reason.limit == 1 ? "" : "s");
    case QueueReasonCode::slurm_pending:
      return "waiting in Slurm's queue: " + slurm_words(reason.slurm_reason);
  }
  return "waiting";
}

}  // namespace

std::string_view to_string(QueueReasonCode code) {
  for (const auto& [value, name] : kCodes)
    if (value == code) return name;
  return "waiting_for_gpus";
}

std::optional<QueueReasonCode> parse_queue_reason_code(std::string_view text) {
  for (const auto& [value, name] : kCodes)
    if (name == text) return value;
  return std::nullopt;
}

std::string english(const QueueReason& reason) {
  std::string text = why(reason);
  if (reason.position > 0) text += fmt::format("; position {}", reason.position);
  if (reason.estimated_start > 0) {
    text += fmt::format("; expected to start by {} (when time limits free the GPUs)",
                        format_rfc3339(reason.estimated_start));
  }
  return text;
}

nlohmann::json to_json(const QueueReason& reason) {
  nlohmann::json parameters = nlohmann::json::object();
  auto text = [&](const char* name, const std::string& value) {
    if (!value.empty()) parameters[name] = value;
  };
  auto number = [&](const char* name, auto value) {
    if (value != 0) parameters[name] = value;
  };
  text("gpu_model", reason.gpu_model);
  text("cuda", reason.cuda);
  text("node", reason.node);
  text("driver_cuda", reason.driver_cuda);
  text("holder", reason.holder);
  text("slurm_reason", reason.slurm_reason);
  number("cpus", reason.cpus);
  number("memory_gb", static_cast<double>(reason.memory_mb) / 1024.0);
  number("gpu_memory_gb", static_cast<double>(reason.gpu_memory_mb) / 1024.0);
  number("gpus", reason.gpus);
  number("limit", reason.limit);
  return {{"code", to_string(reason.code)},
          {"position", reason.position},
          {"estimated_start", reason.estimated_start > 0
                                  ? nlohmann::json(format_rfc3339(reason.estimated_start))
                                  : nlohmann::json(nullptr)},
          {"parameters", parameters}};
}

std::optional<QueueReason> queue_reason_from_json(const nlohmann::json& document) {
  if (!document.is_object() || !document.contains("code") || !document["code"].is_string())
    return std::nullopt;
  auto code = parse_queue_reason_code(document["code"].get<std::string>());
  if (!code) return std::nullopt;
  QueueReason reason;
  reason.code = *code;
  reason.position = document.value("position", 0);
  reason.estimated_start = document.value("estimated_start_ms", UnixMillis{0});
  const nlohmann::json parameters = document.value("parameters", nlohmann::json::object());
  reason.gpu_model = parameters.value("gpu_model", "");
  reason.cuda = parameters.value("cuda", "");
  reason.node = parameters.value("node", "");
  reason.driver_cuda = parameters.value("driver_cuda", "");
  reason.holder = parameters.value("holder", "");
  reason.slurm_reason = parameters.value("slurm_reason", "");
  reason.cpus = parameters.value("cpus", 0.0);
  reason.memory_mb = std::llround(parameters.value("memory_gb", 0.0) * 1024.0);
  reason.gpu_memory_mb = std::llround(parameters.value("gpu_memory_gb", 0.0) * 1024.0);
  reason.gpus = parameters.value("gpus", 0);
  reason.limit = parameters.value("limit", 0);
  return reason;
}

}  // namespace gpupool
