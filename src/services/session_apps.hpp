// SessionApps: the web apps a session serves through the gateway (TensorBoard, Gradio, any
// HTTP or WebSocket server on a port of its container), at /s/<id>/apps/<port>/ on the
// session's own address. The owner exposes a port and says who else may open it: named
// users, members of named groups, or anyone holding a link until it expires. The gateway asks
// here who may open an app (api/proxy_handlers.cpp); the node's app relay carries the bytes
// (app/app_relay.hpp). What the gateway asks is remembered until the store next changes
// (store_cache.hpp): an app's page makes many requests. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "model/session_app.hpp"
#include "services/session_service.hpp"
#include "services/store_cache.hpp"
#include "store/store.hpp"

namespace gpupool::services {

inline constexpr int kMaxAppsPerSession = 16;
inline constexpr int kMaxAppLinkHours = 24 * 30;
inline constexpr std::size_t kMaxAppSharees = 64;
// A link into an app: the query parameter that carries it, and the cookie (for that app's
// path on the session's own address) it is traded for.
inline constexpr const char* kAppLinkParameter = "gpupool-link";
inline constexpr const char* kAppLinkCookie = "gpupool_link";

// What the owner asks for one port; a request replaces what the port had.
struct AppRequest {
  int port = 0;
  bool keep_path = false;
  std::vector<std::string> users;
  std::vector<std::string> groups;
  int link_hours = 0;  // > 0: a new link, good this long (an earlier one stops working)
};

struct ExposedApp {
  SessionApp app;
  std::string link_token;  // set when a link was made: shown once, kept only as a digest
};

class SessionApps {
 public:
  SessionApps(Store& store, SessionService& sessions, const Clock& clock)
      : store_(store),
        sessions_(sessions),
        clock_(clock),
        apps_of_sessions_(store),
        groups_of_users_(store) {}

  // The owner's own session only (another's is not_found); not once it has ended.
  Result<ExposedApp> expose(const User& owner, const std::string& session_id,
                            const AppRequest& request);
  Result<std::vector<SessionApp>> list(const User& owner, const std::string& session_id);
  Status remove(const User& owner, const std::string& session_id, int port);

  // The app on that port, if its session's owner exposed it.
  Result<std::optional<SessionApp>> find(const std::string& session_id, int port);
  // Whether `visitor` may open `app` of a session `owner_id` owns.
  Result<bool> may_open(const SessionApp& app, std::int64_t owner_id, const User& visitor);
  // Whether a link token opens `app` now.
  bool link_opens(const SessionApp& app, const std::string& token) const;

 private:
  // A conflict when the session's node has no app relay (app/app_relay.hpp).
  Status check_node_relays(const std::string& node_name);

  Store& store_;
  SessionService& sessions_;
  const Clock& clock_;
  StoreCache<std::vector<SessionApp>> apps_of_sessions_;  // by session id
  StoreCache<std::vector<Group>> groups_of_users_;        // by user id
};

}  // namespace gpupool::services
