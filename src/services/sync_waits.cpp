#include "services/sync_waits.hpp"

#include <chrono>
#include <vector>

#include "core/log.hpp"

namespace gpupool::services {

namespace {
// How often held syncs are checked when nothing called changed() but the store moved: a
// change made where no one calls changed() (an SSH key, a pass ending a session) still
// reaches its node within about this.
constexpr std::chrono::seconds kSafetyNetInterval{1};
}  // namespace

SyncWaits::SyncWaits(StateReader states, std::function<std::uint64_t()> change_count)
    : states_(std::move(states)), change_count_(std::move(change_count)) {
  checker_ = std::thread([this] { run(); });
}

SyncWaits::~SyncWaits() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  condition_.notify_all();
  checker_.join();
}

std::uint64_t SyncWaits::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

std::uint64_t SyncWaits::wait(const std::string& node, const std::string& held,
                              std::uint64_t generation, std::function<void()> wake) {
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    waiters_[id] = {node, held, std::move(wake)};
    if (generation == generation_) return id;
    check_requested_ = true;  // something changed since its answer was made
  }
  condition_.notify_all();
  return id;
}

void SyncWaits::withdraw(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  waiters_.erase(id);
}

void SyncWaits::changed() {
  {
    std::lock_guard lock(mutex_);
    ++generation_;
    check_requested_ = true;
  }
  condition_.notify_all();
}

std::size_t SyncWaits::held() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

void SyncWaits::run() {
  std::uint64_t checked_changes = change_count_();
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    condition_.wait_for(lock, kSafetyNetInterval, [this] { return check_requested_ || stopping_; });
    if (stopping_) break;
    bool requested = check_requested_;
    check_requested_ = false;
    if (waiters_.empty()) continue;
    std::uint64_t changes = change_count_();
    if (!requested && changes == checked_changes) continue;
    checked_changes = changes;
    check(lock);
  }
}

void SyncWaits::check(std::unique_lock<std::mutex>& lock) {
  std::set<std::string> nodes;
  for (const auto& [id, waiter] : waiters_) nodes.insert(waiter.node);
  lock.unlock();
  auto states = states_(nodes);
  lock.lock();
  if (!states) {
    // The held syncs end at their heartbeat and are answered from the store then.
    spdlog::warn("agent sync: cannot read nodes' desired state: {}", states.error().message);
    return;
  }
  std::vector<std::function<void()>> wakes;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    auto state = states->find(it->second.node);
    if (state != states->end() && state->second != it->second.held) {
      wakes.push_back(std::move(it->second.wake));
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
  lock.unlock();
  for (const auto& wake : wakes) wake();
  lock.lock();
}

}  // namespace gpupool::services
