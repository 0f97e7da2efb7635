// SessionRoutes: what the proxy needs to know of a session (whose it is, whether it runs,
// where its Jupyter answers), remembered until the store next changes (store_cache.hpp).
// Loading a page of Jupyter makes dozens of requests, and each would otherwise read the
// session and every node. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "model/session.hpp"
#include "services/store_cache.hpp"
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
  explicit SessionRoutes(Store& store) : store_(store), remembered_(store) {}

  // The session's route; nullopt for an id the store does not know.
  Result<std::optional<SessionRoute>> find(const std::string& session_id);

 private:
  Result<std::optional<SessionRoute>> load(const std::string& session_id);

  Store& store_;
  StoreCache<std::optional<SessionRoute>> remembered_;
};

}  // namespace gpupool::services
