// The portal's pages: "/" and /ui/*, from the files compiled into the binary.
#include "api/api.hpp"
#include "api/web_assets.hpp"
#include "gateway/replies.hpp"

namespace gpupool::api {

HttpReply Api::web_page(const Call& call) {
  const std::string& path = call.exchange.path;  // as sent: /ui/../x names no file
  std::string_view wanted = path == "/" ? "/ui/index.html" : std::string_view(path);
  for (const auto& asset : web_assets()) {
    if (asset.path != wanted) continue;
    HttpReply reply{200, std::string(asset.content_type), std::string(asset.body), {}, nullptr};
    // Only our own scripts and styles; no framing (clickjacking), no inline code.
    reply.headers = {
        {"Content-Security-Policy",
         "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
         "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
        {"Referrer-Policy", "same-origin"}};
    return reply;
  }
  return error_reply(ErrorCode::not_found, "no such page");
}

}  // namespace gpupool::api
