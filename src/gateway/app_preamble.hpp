// The first line the gateway sends a node's app relay (app/app_relay.hpp) on each connection:
// which session, which port of its container, and the session's Jupyter token, the secret the
// server and the node already share for it (whoever holds it can run anything in the session,
// so it opens no more than it already does). Pure.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gpupool::gateway {

struct AppPreamble {
  std::string session_id;
  int port = 0;  // 1–65535
  std::string token;
};

// "APP <session> <port> <token>\n"
std::string app_preamble(const AppPreamble& preamble);

// A line (without its '\n') read strictly: ids of 1–32 lower-case letters and digits, a port
// of 1–65535 without leading zeros, a token of 1–128 URL-safe characters.
Result<AppPreamble> parse_app_preamble(std::string_view line);

}  // namespace gpupool::gateway
