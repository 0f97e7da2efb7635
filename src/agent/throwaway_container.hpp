// Containers the agent runs once and removes (an image's contract check, a session's save):
// waiting for one to exit.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "engine/container_engine.hpp"

namespace gpupool::agent {

// Blocks until the container has exited: its status, or why not (`limit` passed, `stopping`
// set, the engine failed).
Result<ContainerStatus> wait_for_exit(ContainerEngine& engine, const std::string& name,
                                      const std::atomic<bool>& stopping,
                                      std::chrono::milliseconds limit);

}  // namespace gpupool::agent
