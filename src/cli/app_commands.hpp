// `gpupool expose` and `gpupool unexpose`: a session's web apps through the gateway
// (services/session_apps.hpp), thin over /api/v1/sessions/{id}/apps.
#pragma once

#include <string>
#include <vector>

namespace gpupool::cli {

struct ExposeOptions {
  std::string session_id;
  int port = 0;
  bool keep_path = false;
  std::vector<std::string> users;
  std::vector<std::string> groups;
  int link_hours = 0;
};

// Exposes the port (replacing who it was shared with) and prints its address, and the link
// when one was asked for.
int expose(const ExposeOptions& options);
// The session's exposed ports, a line each.
int list_apps(const std::string& session_id);
int unexpose(const std::string& session_id, int port);

}  // namespace gpupool::cli
