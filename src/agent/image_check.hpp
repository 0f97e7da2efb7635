// The contract check of a catalog image (services/image_checks.hpp): pulled if the node lacks
// it, then run once in a throwaway container that looks for what a session needs — Python,
// Jupyter Notebook, setpriv, sshd — and the torch it carries, and writes what it found to a
// file the agent reads back. The image may be anyone's (a user's saved session), so the
// container has no network, no capabilities, no mounts, runs as nobody, and is removed after.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "engine/container_engine.hpp"
#include "model/sync.hpp"

namespace gpupool::agent {

// What the check container writes ("key=value" lines), read into a report; unknown keys and
// values that are not plain version text are dropped.
ImageCheckReport parse_image_check_output(const ImageCheckOrder& order, std::string_view text);

struct ImageCheckLimits {
  std::chrono::milliseconds run_time{120'000};  // importing torch alone can take a while
  std::int64_t memory_bytes = 2LL << 30;
};

// Blocking; `stopping` cuts a pull or the wait short (the report then says so).
ImageCheckReport run_image_check(ContainerEngine& engine, const ImageCheckOrder& order,
                                 const std::string& node_name, const std::atomic<bool>& stopping,
                                 const ImageCheckLimits& limits = {});

}  // namespace gpupool::agent
