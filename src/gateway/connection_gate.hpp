// ConnectionGate: how many client connections the gateway holds, overall and per source
// address, so that one client (or a crowd) cannot take every file descriptor. UserSlots: the
// same for long-lived things one user holds (WebSocket tunnels, live views). Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace gpupool::gateway {

// Held while what it admitted lasts; giving it up (destroying the last copy) frees the place.
// It may outlive the gate or slots that gave it.
using Admission = std::shared_ptr<void>;

// Counts by key, shared with the admissions that give them back.
struct HeldCounts {
  std::mutex mutex;
  std::size_t total = 0;
  std::map<std::string, std::size_t> by_key;
};

struct ConnectionCaps {
  std::size_t total = 10000;     // every client together
  std::size_t per_source = 256;  // one peer address
  // Peers with many clients behind them (the admin's trusted reverse proxies) count only
  // against the total.
  std::function<bool(const std::string& address)> unlimited_source;
};

class ConnectionGate {
 public:
  explicit ConnectionGate(ConnectionCaps caps) : caps_(std::move(caps)) {}
  // A place for a connection from `address`, or null when it would pass a cap.
  Admission admit(const std::string& address);
  std::size_t open() const;

 private:
  ConnectionCaps caps_;
  std::shared_ptr<HeldCounts> counts_ = std::make_shared<HeldCounts>();
};

class UserSlots {
 public:
  explicit UserSlots(std::size_t per_user) : per_user_(per_user) {}
  // A slot for `user`, or null when they hold `per_user` already.
  Admission take(const std::string& user);
  std::size_t held(const std::string& user) const;
  std::size_t per_user() const { return per_user_; }

 private:
  std::size_t per_user_;
  std::shared_ptr<HeldCounts> counts_ = std::make_shared<HeldCounts>();
};

}  // namespace gpupool::gateway
