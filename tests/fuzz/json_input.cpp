// JSON bodies users send, read as POST /api/v1/sessions reads them: whatever is accepted is
// within the documented ranges.
#include "core/json_input.hpp"
#include "api/session_request.hpp"
#include "fuzz_input.hpp"

using gpupool::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto object = gpupool::parse_json_object(text);
  if (!object) return 0;
  require(object->is_object(), "a parsed body is an object");
  auto request = gpupool::api::parse_session_request(*object);
  if (!request) return 0;
  require(request->gpus >= 0 && request->gpus <= gpupool::api::kMaxGpusPerSession,
          "GPUs within range");
  require(request->cpus >= 0.1 && request->cpus <= 256, "CPUs within range");
  require(request->memory_mb > 0 && request->gpu_memory_mb >= 0, "memory within range");
  require(!request->max_hours || (*request->max_hours > 0 && *request->max_hours <= 8760),
          "hours within range");
  return 0;
}
