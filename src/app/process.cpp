#include "app/process.hpp"

#include <pthread.h>

#include "core/log.hpp"

namespace gpupool::app {

int fail(const std::string& message) {
  spdlog::error("{}", message);
  return 1;
}

sigset_t block_stop_signals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  return stop_signals;
}

}  // namespace gpupool::app
