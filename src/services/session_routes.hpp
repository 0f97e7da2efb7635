// SessionRoutes: what the proxy needs to know of a session (whose it is, whether it runs,
// where its Jupyter answers), remembered until the store next changes. Loading a page of
// Jupyter makes dozens of requests, and each would otherwise read the session and every
// node; the store's change count says for free when a remembered route may be stale, so
// none is ever used after a write. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/result.hpp"
#include "model/session.hpp"
#include "store/store.hpp"

namespace gpupool::services {

struct SessionRoute {
  std::int64_t user_id = 0;
  SessionState state = SessionState::queued;
  std::string host;  // where its Jupyter answers; empty until the node says
  int port = 0;
  std::string jupyter_token;
  int app_relay_port = 0;  // on `host`: where its web apps are reached (0: not offered)
};

class SessionRoutes {
 public:
  explicit SessionRoutes(Store& store) : store_(store) {}

  // The session's route; nullopt for an id the store does not know.
  Result<std::optional<SessionRoute>> find(const std::string& session_id);

 private:
  Result<std::optional<SessionRoute>> load(const std::string& session_id);

  struct Remembered {
    std::uint64_t changes = 0;  // the store's change count before it was read
    std::optional<SessionRoute> route;
  };
  static constexpr std::size_t kMaxRemembered = 4096;

  Store& store_;
  std::mutex mutex_;
  std::unordered_map<std::string, Remembered> remembered_;  // guarded by mutex_
};

}  // namespace gpupool::services
