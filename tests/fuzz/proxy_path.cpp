// The proxy's reading of paths under /s/ and of Host headers under --session-domain: what it
// accepts names one session, strictly; and of what reaches a session's web apps — the app path
// (/s/<id>/apps/<port>/…) and the line a node's app relay reads first from whoever connects.
#include <algorithm>

#include "fuzz_input.hpp"
#include "gateway/app_preamble.hpp"
#include "gateway/proxy_route.hpp"

using gpupool::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto path = gpupool::gateway::parse_session_path(text);
  if (path) {
    const std::string& id = path->session_id;
    require(!id.empty() && id.size() <= 32, "a session id is 1-32 characters");
    require(std::all_of(id.begin(), id.end(),
                        [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }),
            "a session id is lower-case letters and digits");
    require(text.find("/../") == std::string_view::npos && !text.ends_with("/..") &&
                text.find("/./") == std::string_view::npos &&
                text.find("//") == std::string_view::npos,
            "an accepted path has no dot or empty segment");
    require(text.find('\\') == std::string_view::npos, "an accepted path has no backslash");
    auto app = gpupool::gateway::parse_app_path(text, id);
    if (app && *app) {
      require((*app)->port >= 1 && (*app)->port <= 65535, "an app port is 1-65535");
      require((*app)->rest.starts_with("/"), "an app's own path starts at its root");
      require(text.ends_with((*app)->rest) || (*app)->bare, "the app's path is the path's end");
    }
  }
  // The relay's first line: what it accepts is exactly what the gateway would have written.
  auto preamble = gpupool::gateway::parse_app_preamble(text);
  if (preamble) {
    require(gpupool::gateway::app_preamble(*preamble) == std::string(text) + "\n",
            "an accepted preamble is one the gateway writes");
    require(preamble->port >= 1 && preamble->port <= 65535, "a preamble's port is 1-65535");
  }
  // Anything under the domain is a session's address (one no session has, if the label is
  // not an id: the path's id then never matches it).
  auto label = gpupool::gateway::session_in_host(text, "sessions.example.org");
  if (label) {
    require(!label->empty() && text.find(*label + ".sessions.example.org") != std::string::npos,
            "the label is what precedes the domain");
  }
  return 0;
}
