// The gateway's listeners for sessions' own origins (services/session_ports.hpp), from
// --session-ports: "LOW-HIGH" (a fixed range, for firewalls) or "N" (N ports the system picks).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "gateway/http_server.hpp"

namespace gpupool::app {

// Binds the ports on `host` and returns those bound. Ports of a range that something else
// holds are skipped with a warning; an error when none could be bound or the text is bad.
Result<std::vector<std::uint16_t>> listen_for_sessions(gateway::HttpServer& http,
                                                       const std::string& host,
                                                       const std::string& spec);

}  // namespace gpupool::app
