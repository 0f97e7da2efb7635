#include "api/session_request.hpp"

#include <cmath>

namespace gpupool::api {

namespace {

// "node_selector": {"label": "value", …}: at most 16 labels, names and values 1–63 characters.
Result<std::map<std::string, std::string>> parse_node_selector(const Json& body) {
  std::map<std::string, std::string> selector;
  auto it = body.find("node_selector");
  if (it == body.end() || it->is_null()) return selector;
  auto invalid = [] {
    return make_error(ErrorCode::invalid_argument,
                      "\"node_selector\" must be an object of up to 16 labels with string values "
                      "of 1-63 characters");
  };
  if (!it->is_object() || it->size() > 16) return invalid();
  for (const auto& [key, value] : it->items()) {
    if (!value.is_string() || key.empty() || key.size() > 63) return invalid();
    const auto& text = value.get_ref<const std::string&>();
    if (text.empty() || text.size() > 63) return invalid();
    selector[key] = text;
  }
  return selector;
}

}  // namespace

Result<SessionRequest> parse_session_request(const Json& body) {
  GPUPOOL_TRY(
      reject_unknown_fields(body, {"image", "gpus", "gpu_model", "gpu_memory_gb", "cpus",
                                   "memory_gb", "max_hours", "preemptible", "node_selector"}));
  SessionRequest request;
  auto image = optional_string(body, "image", 128);
  if (!image) return image.error();
  request.image_tag = image->value_or("");

  // 0: no GPU, to set an environment up at the CPU price before a GPU run.
  auto gpus = optional_integer(body, "gpus", 0, kMaxGpusPerSession);
  if (!gpus) return gpus.error();
  request.gpus = static_cast<int>(gpus->value_or(1));

  auto model = optional_string(body, "gpu_model", 64);
  if (!model) return model.error();
  request.gpu_model = model->value_or("");
  if (request.gpus == 0 && !request.gpu_model.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "a session with no GPU (\"gpus\": 0) names no \"gpu_model\"");
  }

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

  auto selector = parse_node_selector(body);
  if (!selector) return selector.error();
  request.node_selector = std::move(*selector);

  auto preemptible = optional_bool(body, "preemptible");
  if (!preemptible) return preemptible.error();
  request.preemptible = preemptible->value_or(false);

  auto hours = optional_number(body, "max_hours", 0.01, 8760);
  if (!hours) return hours.error();
  request.max_hours = *hours;
  return request;
}

}  // namespace gpupool::api
