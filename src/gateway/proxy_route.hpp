// Paths under /s/: which session a proxied request is for, read strictly, so that the path
// the gateway authorizes is the path Jupyter serves. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gpupool::gateway {

struct SessionPath {
  std::string session_id;
  bool bare = false;  // "/s/<id>" without the trailing slash Jupyter's base URL has
};

// Accepts /s/<id> and /s/<id>/…; refuses (invalid_argument) anything a decoder could read
// differently: dot segments, empty segments, backslashes, encoded '/', '\', '.', '%' (double
// encoding) or NUL, and ids that are not 1–32 lower-case letters and digits.
Result<SessionPath> parse_session_path(std::string_view path);

// A session's web app: /s/<id>/apps/<port>[/…] (services/session_apps.hpp).
struct AppPath {
  int port = 0;
  std::string rest;   // what follows the port, "/" at least (the app's own path)
  bool bare = false;  // "/s/<id>/apps/<port>" without the trailing slash
};

// For a path parse_session_path accepted: nullopt when it is not under /s/<id>/apps/; an
// invalid_argument Error when it is but names no port (1–65535, no leading zeros).
Result<std::optional<AppPath>> parse_app_path(std::string_view path, std::string_view session_id);

// Where session_init.sh starts code-server (VS Code in the browser) in a session, when the
// image has it; the gateway reaches it through the node's app relay.
inline constexpr int kCodeServerPort = 13337;

// A session's VS Code: /s/<id>/vscode[/…]. What follows, "/" at least, with `bare` for the
// path without its trailing slash; nullopt for any other path.
struct VscodePath {
  std::string rest;
  bool bare = false;
};
std::optional<VscodePath> parse_vscode_path(std::string_view path, std::string_view session_id);

// Under --session-domain: "https://<id>.<domain>[:port]" for a gateway at `gateway_url`
// ("https://gpus.lab.example:8443"), keeping its scheme and port.
std::string session_origin(std::string_view gateway_url, std::string_view domain,
                           std::string_view session_id);

// Without a session domain: "http://host:<port>" for a gateway at `gateway_url`, keeping its
// scheme and host.
std::string origin_with_port(std::string_view gateway_url, std::uint16_t port);

// What a Host header names under `domain` ("<label>.<domain>[:port]": the label, to compare
// with the session id of the path), or nullopt when it is not under `domain` (the gateway's
// own address).
std::optional<std::string> session_in_host(std::string_view host, std::string_view domain);

}  // namespace gpupool::gateway
