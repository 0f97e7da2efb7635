// What the long-running commands (`up`, `server`, `agent`) share about their process.
#pragma once

#include <csignal>
#include <string>

namespace gpupool::app {

// Logs `message` as an error; returns the exit code 1.
int fail(const std::string& message);

// Blocks SIGINT and SIGTERM in this thread and every thread made from now on, so that only
// sigwait() on the returned set takes them.
sigset_t block_stop_signals();

}  // namespace gpupool::app
