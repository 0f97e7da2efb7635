#include "server/session_request.hpp"

#include <cmath>

namespace gpupool::server {

Result<SessionRequest> parse_session_request(const Json& body) {
  GPUPOOL_TRY(reject_unknown_fields(body, {"image", "gpus", "gpu_model", "gpu_memory_gb", "cpus",
                                           "memory_gb", "max_hours", "preemptible"}));
  SessionRequest request;
  auto image = optional_string(body, "image", 128);
  if (!image) return image.error();
  request.image_tag = image->value_or("");

  auto gpus = optional_integer(body, "gpus", 1, kMaxGpusPerSession);
  if (!gpus) return gpus.error();
  request.gpus = static_cast<int>(gpus->value_or(1));

  auto model = optional_string(body, "gpu_model", 64);
  if (!model) return model.error();
  request.gpu_model = model->value_or("");

  auto gpu_memory = optional_number(body, "gpu_memory_gb", 0.25, 1024);
  if (!gpu_memory) return gpu_memory.error();
  if (*gpu_memory) {
    if (request.gpus != 1) {
      return make_error(
          ErrorCode::invalid_argument,
          "\"gpu_memory_gb\" asks for a share of one GPU; leave \"gpus\" out or set it to 1");
    }
    request.gpu_memory_mb = static_cast<std::int64_t>(std::llround(**gpu_memory * 1024));
  }

  auto cpus = optional_number(body, "cpus", 0.1, 256);
  if (!cpus) return cpus.error();
  request.cpus = cpus->value_or(kDefaultCpus);

  auto memory = optional_number(body, "memory_gb", 0.25, 4096);
  if (!memory) return memory.error();
  request.memory_mb =
      static_cast<std::int64_t>(std::llround(memory->value_or(kDefaultMemoryGb) * 1024));

  auto preemptible = optional_bool(body, "preemptible");
  if (!preemptible) return preemptible.error();
  request.preemptible = preemptible->value_or(false);

  auto hours = optional_number(body, "max_hours", 0.01, 8760);
  if (!hours) return hours.error();
  request.max_hours = *hours;
  return request;
}

}  // namespace gpupool::server
