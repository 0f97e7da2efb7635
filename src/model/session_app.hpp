// A web app a session serves, reached through the gateway (services/session_apps.hpp). Plain
// data.
#pragma once

#include <string>
#include <vector>

#include "core/clock.hpp"

namespace gpupool {

struct SessionApp {
  std::string session_id;
  int port = 0;  // in the session's container
  // The app expects its gateway path (/s/<id>/apps/<port>/…) in every request; else it is cut
  // off, and the app sees "/…".
  bool keep_path = false;
  std::vector<std::string> shared_users;   // user names besides the owner
  std::vector<std::string> shared_groups;  // group names whose members may open it
  std::string link_digest;                 // "": no link; else the link token's digest
  UnixMillis link_expires_at = 0;
  UnixMillis created_at = 0;
};

}  // namespace gpupool
