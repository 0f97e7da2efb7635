// PeriodicTask: runs `work` on a thread of its own every `interval` (first at once, or after
// one interval), until stopped; wake() runs it as soon as the current run (if any) is over. stop()
// wakes a waiting thread at once and joins it; it is safe to call twice and from the destructor.
// A run that throws is logged and the task goes on. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace gpupool {

class PeriodicTask {
 public:
  enum class First { now, after_interval };

  PeriodicTask(std::chrono::milliseconds interval, std::function<void()> work,
               First first = First::now)
      : interval_(interval), work_(std::move(work)), first_(first) {}
  ~PeriodicTask() { stop(); }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  void start();
  void wake();
  void stop();

 private:
  void run_once();

  const std::chrono::milliseconds interval_;
  const std::function<void()> work_;
  const First first_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  bool woken_ = false;     // guarded by mutex_
  std::thread thread_;
};

}  // namespace gpupool
