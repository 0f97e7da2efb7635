// SyncWaits: agents' syncs held open until their node's desired state changes (the long poll
// of POST /api/v1/agent/sync).
//
// A held sync names the state its agent holds (SyncResponse::state). When the desired state
// may have changed — changed(), which the server calls on every change it makes to sessions,
// and as a safety net once a second when the store's change count has moved — one checker
// thread reads the state of every node with a held sync in one pass and wakes those whose
// node's state differs. Waking is all it does: the held sync makes its own reply.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "core/result.hpp"

namespace gpupool::services {

class SyncWaits {
 public:
  // Each of `nodes`' current state (SessionService::desired_states).
  using StateReader =
      std::function<Result<std::map<std::string, std::string>>(const std::set<std::string>&)>;

  SyncWaits(StateReader states, std::function<std::uint64_t()> change_count);
  ~SyncWaits();  // stops the checker
  SyncWaits(const SyncWaits&) = delete;
  SyncWaits& operator=(const SyncWaits&) = delete;

  // Read before making a sync's answer; wait() takes it back, so a change between the two
  // is checked for rather than missed.
  std::uint64_t generation() const;
  // Calls `wake` once, from the checker thread, when `node`'s state is no longer `held`.
  // Returns an id for withdraw().
  std::uint64_t wait(const std::string& node, const std::string& held, std::uint64_t generation,
                     std::function<void()> wake);
  void withdraw(std::uint64_t id);
  // Something may have changed some node's desired state: check the held syncs soon.
  void changed();
  std::size_t held() const;

 private:
  struct Waiter {
    std::string node;
    std::string held;
    std::function<void()> wake;
  };
  void run();
  // One pass: reads the states of the waiting nodes, wakes those that moved.
  void check(std::unique_lock<std::mutex>& lock);

  const StateReader states_;
  const std::function<std::uint64_t()> change_count_;
  mutable std::mutex mutex_;
  std::condition_variable condition_;
  std::map<std::uint64_t, Waiter> waiters_;  // guarded by mutex_
  std::uint64_t next_id_ = 1;                // guarded by mutex_
  std::uint64_t generation_ = 0;             // changed() calls; guarded by mutex_
  bool check_requested_ = false;             // guarded by mutex_
  bool stopping_ = false;                    // guarded by mutex_
  std::thread checker_;
};

}  // namespace gpupool::services
