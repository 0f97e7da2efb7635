// JSON that gpupool reads from parts it does not write: Jupyter's kernel and terminal lists,
// which a session's own code may answer in place of Jupyter; CDI specs; the container
// engine's /version and /info; an identity provider's signing keys. Each is read as valid or
// as nothing, never a crash.
#include <nlohmann/json.hpp>

#include "agent/activity_sensor.hpp"
#include "agent/gpu_attachment.hpp"
#include "auth/jwt.hpp"
#include "engine/docker_api/engine_identity.hpp"
#include "fuzz_input.hpp"

using gpupool::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  gpupool::fuzz::ByteReader input(data, size);
  std::string terminals = input.text(200);
  std::string_view rest = input.rest();
  if (auto use = gpupool::agent::parse_jupyter_use(rest, terminals)) {
    require(use->kernels >= 0 && use->terminals >= 0, "counts are not negative");
    require(use->busy_kernels <= use->kernels, "no more busy kernels than kernels");
  }
  for (const auto& device : gpupool::agent::cdi_spec_devices(rest))
    require(device.find('=') != std::string::npos, "a CDI device is kind=name");
  auto answer = nlohmann::json::parse(rest, nullptr, false);
  auto other = nlohmann::json::parse(terminals, nullptr, false);
  if (!answer.is_discarded()) {
    auto identity =
        gpupool::docker_api::engine_identity(answer, other.is_discarded() ? nullptr : other);
    require(identity.version.size() <= 40, "a version string stays bounded");
    (void)identity.describe();
  }
  if (auto keys = gpupool::auth::parse_json_web_keys(std::string(rest)); keys)
    require(!keys->empty(), "a key set that reads has a key");
  return 0;
}
