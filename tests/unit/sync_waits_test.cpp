// SyncWaits: held syncs woken when, and only when, their node's desired state moves from the
// one their agent holds.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "services/sync_waits.hpp"

namespace gpupool::testing {
namespace {

using namespace std::chrono_literals;

class SyncWaitsTest : public ::testing::Test {
 protected:
  SyncWaitsTest()
      : waits_(
            [this](const std::set<std::string>& nodes) {
              std::lock_guard lock(mutex_);
              std::map<std::string, std::string> states;
              for (const auto& node : nodes) states[node] = states_[node];
              ++reads_;
              changed_.notify_all();
              return Result<std::map<std::string, std::string>>(states);
            },
            [] { return std::uint64_t{0}; }) {}

  void set_state(const std::string& node, const std::string& state) {
    std::lock_guard lock(mutex_);
    states_[node] = state;
  }
  // changed(), and back once the checker has read the states after it.
  void change_and_check() {
    int before = 0;
    {
      std::lock_guard lock(mutex_);
      before = reads_;
    }
    waits_.changed();
    std::unique_lock lock(mutex_);
    ASSERT_TRUE(changed_.wait_for(lock, 5s, [&] { return reads_ > before; }));
  }
  std::function<void()> counter(const std::string& name) {
    return [this, name] {
      std::lock_guard lock(mutex_);
      ++woken_[name];
      changed_.notify_all();
    };
  }
  int woken(const std::string& name) {
    std::lock_guard lock(mutex_);
    return woken_[name];
  }
  bool wait_woken(const std::string& name) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 5s, [&] { return woken_[name] > 0; });
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::string> states_;  // guarded by mutex_
  std::map<std::string, int> woken_;           // guarded by mutex_
  int reads_ = 0;                              // guarded by mutex_
  services::SyncWaits waits_;
};

TEST_F(SyncWaitsTest, AWaitEndsWhenItsNodesStateMovesAndNotBefore) {
  set_state("gpu-1", "a");
  set_state("gpu-2", "x");
  waits_.wait("gpu-1", "a", waits_.generation(), counter("one"));
  waits_.wait("gpu-2", "x", waits_.generation(), counter("two"));
  change_and_check();
  EXPECT_EQ(woken("one"), 0);
  EXPECT_EQ(waits_.held(), 2u);

  set_state("gpu-1", "b");
  change_and_check();
  EXPECT_TRUE(wait_woken("one"));
  EXPECT_EQ(woken("two"), 0);  // another node's change wakes no one else
  EXPECT_EQ(waits_.held(), 1u);
  change_and_check();
  EXPECT_EQ(woken("one"), 1);  // once
}

TEST_F(SyncWaitsTest, AWithdrawnWaitIsNeverWoken) {
  set_state("gpu-1", "a");
  set_state("gpu-2", "x");
  auto id = waits_.wait("gpu-1", "a", waits_.generation(), counter("one"));
  waits_.wait("gpu-2", "x", waits_.generation(), counter("two"));  // keeps the checker reading
  waits_.withdraw(id);
  set_state("gpu-1", "b");
  change_and_check();
  EXPECT_EQ(woken("one"), 0);
  EXPECT_EQ(waits_.held(), 1u);
}

TEST_F(SyncWaitsTest, AChangeBetweenTheAnswerAndTheWaitIsNotMissed) {
  set_state("gpu-1", "a");
  auto generation = waits_.generation();  // the answer "a" is made …
  set_state("gpu-1", "b");                // … a session is placed meanwhile …
  waits_.changed();
  // … and only then does the held sync register: it is checked without another changed().
  waits_.wait("gpu-1", "a", generation, counter("one"));
  EXPECT_TRUE(wait_woken("one"));
}

}  // namespace
}  // namespace gpupool::testing
