// Cookie headers: the gateway's own cookies are stripped before a request reaches a session.
#include "gateway/cookies.hpp"
#include "fuzz_input.hpp"

using gpupool::fuzz::require;
namespace gateway = gpupool::gateway;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view header(reinterpret_cast<const char*>(data), size);
  std::string stripped = gateway::without_cookies(header, {"gpupool_session", "gpupool_pass"});
  require(gateway::cookie_values(stripped, "gpupool_session").empty() &&
              gateway::cookie_values(stripped, "gpupool_pass").empty(),
          "a stripped cookie is gone");
  for (const auto& pair : gateway::split_cookies(header)) {
    require(pair.text.data() >= header.data() &&
                pair.text.data() + pair.text.size() <= header.data() + header.size(),
            "a cookie pair lies within its header");
  }
  return 0;
}
