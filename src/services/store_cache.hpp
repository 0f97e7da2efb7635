// StoreCache: values read from the store, remembered until the store next changes. The
// gateway asks for the same few rows on every request of a page (dozens for a notebook or an
// editor); the store's change count says for free when a remembered value may be stale, so
// none is ever used after a write (another server's included, which the count also follows).
// Bounded; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/result.hpp"
#include "store/store.hpp"

namespace gpupool::services {

template <typename Value>
class StoreCache {
 public:
  explicit StoreCache(const Store& store) : store_(store) {}

  // The value for `key`: remembered while the store has not changed since it was read, else
  // what `load` reads now.
  Result<Value> get(const std::string& key, const std::function<Result<Value>()>& load) {
    // Read before the store is: a write made while loading leaves this entry already stale.
    std::uint64_t changes = store_.change_count();
    {
      std::lock_guard lock(mutex_);
      auto it = remembered_.find(key);
      if (it != remembered_.end() && it->second.changes == changes) return it->second.value;
    }
    auto value = load();
    if (!value) return value;
    std::lock_guard lock(mutex_);
    if (remembered_.size() >= kMaxRemembered) remembered_.clear();  // refills as used
    remembered_[key] = {changes, *value};
    return value;
  }

 private:
  struct Remembered {
    std::uint64_t changes = 0;  // the store's change count before it was read
    Value value;
  };
  static constexpr std::size_t kMaxRemembered = 4096;

  const Store& store_;
  std::mutex mutex_;
  std::unordered_map<std::string, Remembered> remembered_;  // guarded by mutex_
};

}  // namespace gpupool::services
