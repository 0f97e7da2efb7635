#include "core/periodic_task.hpp"

#include <exception>

#include "core/log.hpp"

namespace gpupool {

void PeriodicTask::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    bool wait_first = first_ == First::after_interval;
    while (!stopping_) {
      if (wait_first && wake_.wait_for(lock, interval_, [this] { return stopping_ || woken_; }) &&
          stopping_)
        break;
      wait_first = true;
      woken_ = false;
      lock.unlock();
      run_once();
      lock.lock();
    }
  });
}

void PeriodicTask::run_once() {
  try {
    work_();
  } catch (const std::exception& failure) {
    // A bug (errors are Results): one round lost is better than the process, and everything
    // it serves, going down; the next round runs as usual.
    spdlog::error("a periodic task threw: {}", failure.what());
  }
}

void PeriodicTask::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

void PeriodicTask::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace gpupool
