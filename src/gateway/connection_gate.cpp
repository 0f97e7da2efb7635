#include "gateway/connection_gate.hpp"

namespace gpupool::gateway {

namespace {

// One place for `key` (counted by key only when `by_key`), or null when a cap is reached.
Admission take_place(const std::shared_ptr<HeldCounts>& counts, const std::string& key, bool by_key,
                     std::size_t total_cap, std::size_t key_cap) {
  {
    std::lock_guard lock(counts->mutex);
    if (counts->total >= total_cap) return nullptr;
    if (by_key) {
      auto it = counts->by_key.try_emplace(key, 0).first;
      if (it->second >= key_cap) {
        if (it->second == 0) counts->by_key.erase(it);
        return nullptr;
      }
      ++it->second;
    }
    ++counts->total;
  }
  return {new int(0), [counts, key, by_key](int* place) {
            delete place;
            std::lock_guard lock(counts->mutex);
            --counts->total;
            if (!by_key) return;
            // Only who holds something stays in the map.
            auto it = counts->by_key.find(key);
            if (it != counts->by_key.end() && --it->second == 0) counts->by_key.erase(it);
          }};
}

std::size_t held_by(HeldCounts& counts, const std::string& key) {
  std::lock_guard lock(counts.mutex);
  auto it = counts.by_key.find(key);
  return it == counts.by_key.end() ? 0 : it->second;
}

}  // namespace

Admission ConnectionGate::admit(const std::string& address) {
  bool limited = !caps_.unlimited_source || !caps_.unlimited_source(address);
  return take_place(counts_, address, limited, caps_.total, caps_.per_source);
}

std::size_t ConnectionGate::open() const {
  std::lock_guard lock(counts_->mutex);
  return counts_->total;
}

Admission UserSlots::take(const std::string& user) {
  return take_place(counts_, user, true, SIZE_MAX, per_user_);
}

std::size_t UserSlots::held(const std::string& user) const {
  return held_by(*counts_, user);
}

}  // namespace gpupool::gateway
