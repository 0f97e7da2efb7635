// QueueReason: why a request waits, as data — a code and the figures it speaks of — so that
// the scheduler decides and the API and the portal put it into words, in the reader's
// language. english() is the words for logs, the CLI and the API's `reason`. Plain data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"

namespace gpupool {

enum class QueueReasonCode {
  no_such_model,                // gpu_model: no GPU of that model in the pool
  no_node_with_labels,          // no usable node has every label of the request's selector
  no_driver_for_cuda,           // cuda: no node has an NVIDIA driver
  driver_too_old,               // cuda, node, driver_cuda: the newest driver is too old
  waiting_for_cpus_or_memory,   // cpus and/or memory_mb (0: not short) on a node with free GPUs
  waiting_for_ports,            // host ports on a node with free GPUs
  waiting_behind_reservation,   // an earlier request holds the free GPUs
  waiting_for_gpu_memory,       // gpu_model (may be empty), gpu_memory_mb free on one GPU
  waiting_for_cpus_and_memory,  // a CPU-only request: cpus and memory_mb
  waiting_for_gpus,             // gpus free GPUs of gpu_model (may be empty) on one node
  over_model_quota,             // holder ("user ada", "group lab") may hold limit gpu_model GPUs
  slurm_pending,                // Slurm keeps its job pending for slurm_reason ("Resources", …)
};

// Every member has an initializer, so a designated initializer may name only what it sets.
struct QueueReason {
  QueueReasonCode code = QueueReasonCode::waiting_for_gpus;
  std::string gpu_model{};
  std::string cuda{};  // "12.1"
  std::string node{};
  std::string driver_cuda{};  // what that node's driver supports, "11.8"
  std::string holder{};
  std::string slurm_reason{};  // Slurm's own code, as squeue gives it
  double cpus = 0;
  std::int64_t memory_mb = 0;
  std::int64_t gpu_memory_mb = 0;
  int gpus = 0;
  int limit = 0;
  // Filled in by the server, not the scheduler's placement step:
  int position = 0;                // 1-based place in the queue
  UnixMillis estimated_start = 0;  // 0: cannot be told

  bool operator==(const QueueReason&) const = default;
};

std::string_view to_string(QueueReasonCode code);
std::optional<QueueReasonCode> parse_queue_reason_code(std::string_view text);

// "waiting for 2 free A100 GPUs on one node; position 3; expected to start by …".
std::string english(const QueueReason& reason);

// {"code": …, "position": …, "estimated_start": RFC 3339 or null, "parameters": {…}} with
// only the parameters the code speaks of; what the API shows and the store keeps.
nlohmann::json to_json(const QueueReason& reason);
// The reverse, for what the store kept (to_json() with "estimated_start_ms" added, the
// exact time); nullopt for anything else.
std::optional<QueueReason> queue_reason_from_json(const nlohmann::json& document);

}  // namespace gpupool
