// The portal's pages: "/" and /ui/*, from the files compiled into the binary.
#include "api/api.hpp"
#include "api/web_assets.hpp"
#include "gateway/replies.hpp"

namespace gpupool::api {

namespace {

// One of the files compiled in, with the headers every page of ours has; nullopt for none.
std::optional<HttpReply> asset_reply(std::string_view wanted) {
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
  return std::nullopt;
}

}  // namespace

HttpReply Api::web_page(const Call& call) {
  const std::string& path = call.exchange.path;  // as sent: /ui/../x names no file
  auto reply = asset_reply(path == "/" ? "/ui/index.html" : std::string_view(path));
  return reply ? *reply : error_reply(ErrorCode::not_found, "no such page");
}

std::optional<HttpReply> Api::session_page(const std::string& session_id, std::string_view path) {
  std::string prefix = "/s/" + session_id + "/gpupool/";
  if (!path.starts_with(prefix)) return std::nullopt;
  std::string_view name = path.substr(prefix.size());
  // The file page, and what it loads beside it (relative links, so the session's origin).
  std::optional<HttpReply> reply;
  if (name == "files") {
    reply = asset_reply("/ui/files.html");
    if (reply) {
      auto mark = reply->body.find("{{upload_limit_mb}}");
      if (mark != std::string::npos)
        reply->body.replace(mark, 19, std::to_string(settings_.upload_limit_mb));
    }
  } else if (name == "files.js" || name == "i18n.js" || name == "style.css") {
    reply = asset_reply("/ui/" + std::string(name));
  }
  if (!reply) return error_reply(ErrorCode::not_found, "no such page");
  return reply;
}

}  // namespace gpupool::api
