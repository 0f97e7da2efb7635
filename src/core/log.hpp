// Logging: spdlog with one process-wide logger. Thread-safe.
#pragma once

#include <spdlog/spdlog.h>

namespace gpupool {

// Sets the log level from a name ("debug", "info", "warn", "error"); unknown names mean info.
void configure_logging(const std::string& level);

}  // namespace gpupool
