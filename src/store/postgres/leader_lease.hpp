// LeaderLease: which of the servers sharing a PostgreSQL database runs the control plane's
// one-at-a-time work (scheduling passes, the lifecycle's sweeps, deliveries).
//
// The lease is a session-level advisory lock held by a connection of its own: PostgreSQL
// lets it go the moment that connection ends (the leader killed, its machine gone — TCP
// keepalives notice within about 25 s — or the database restarted), and every other server
// tries for it every quarter second. Winning bumps the epoch in gpupool_leader, in a write
// transaction. Fencing: every write transaction, under the write lock, compares the epoch it
// believes it leads with with the table's; a server that lost the lease without noticing (a
// network partition) steps down there, before its work runs, so a stale leader's placement is
// never written.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/result.hpp"

namespace gpupool {

class PostgresStore;

// The advisory lock that is the lease (an arbitrary, fixed 64-bit key).
inline constexpr std::int64_t kLeaderLockKey = 0x67707570'6f6f6c02;

class LeaderLease {
 public:
  // `holder` names this server in gpupool_leader and the logs; `on_lead` runs (on the lease's
  // thread) each time it becomes the leader.
  LeaderLease(PostgresStore& store, std::string url, std::string holder,
              std::function<void()> on_lead);
  ~LeaderLease();
  LeaderLease(const LeaderLease&) = delete;
  LeaderLease& operator=(const LeaderLease&) = delete;

  bool leading() const { return leading_.load(); }
  std::int64_t epoch() const { return epoch_.load(); }
  const std::string& holder() const { return holder_; }
  // Gives up leading at once (the fence found a newer epoch); the lock goes with the
  // connection, which is made again for the next try.
  void step_down(const std::string& why);

 private:
  void run();

  PostgresStore& store_;
  const std::string url_;
  const std::string holder_;
  const std::function<void()> on_lead_;
  std::atomic<bool> leading_{false};
  std::atomic<bool> dropped_{false};  // step_down asked for the connection to go
  std::atomic<std::int64_t> epoch_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace gpupool
