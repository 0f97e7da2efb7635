#include "agent/throwaway_container.hpp"

#include <thread>

#include <fmt/format.h>

namespace gpupool::agent {

using namespace std::chrono_literals;

Result<ContainerStatus> wait_for_exit(ContainerEngine& engine, const std::string& name,
                                      const std::atomic<bool>& stopping,
                                      std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!stopping) {
    auto status = engine.inspect_container(name);
    if (!status) return status.error();
    if (status->state == "exited" || status->state == "dead") return status;
    if (std::chrono::steady_clock::now() >= deadline) {
      return make_error(
          ErrorCode::unavailable,
          fmt::format("it did not finish within {} s",
                      std::chrono::duration_cast<std::chrono::seconds>(limit).count()));
    }
    std::this_thread::sleep_for(200ms);
  }
  return make_error(ErrorCode::unavailable, "the agent stopped meanwhile");
}

}  // namespace gpupool::agent
