// The proxy's reading of paths under /s/ and of Host headers under --session-domain: what it
// accepts names one session, strictly.
#include <algorithm>

#include "fuzz_input.hpp"
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
