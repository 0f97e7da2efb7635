// The gateway's side of /s/<session>/…: who may reach which session's Jupyter, and where it is.
#include <fmt/format.h>

#include "server/api.hpp"
#include "server/proxy_route.hpp"
#include "server/replies.hpp"

namespace gpupool::server {

namespace {

std::string html_escape(std::string_view text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '&':
        escaped += "&amp;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

HttpReply page(int status, std::string_view title, std::string_view message) {
  return {status,
          "text/html; charset=utf-8",
          fmt::format("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}"
                      "</title></head><body><h1>{0}</h1><p>{1}</p><p><a href=\"/\">Your "
                      "sessions</a></p></body></html>",
                      html_escape(title), html_escape(message)),
          {},
          nullptr};
}

}  // namespace

ProxyDecision Api::route_proxy(const HttpExchange& exchange) {
  ProxyDecision decision;
  auto path = parse_session_path(exchange.path);
  if (!path) {
    decision.reply = page(400, "Bad session address", path.error().message);
    return decision;
  }
  // Anonymous callers, unknown ids and other users' sessions all look alike.
  auto not_found = [] {
    return page(404, "No such session",
                "There is no such session, or it is not yours. Sign in to see your sessions.");
  };
  auto principal = identify(exchange);
  if (!principal) {
    decision.reply = principal.error().code == ErrorCode::forbidden
                         ? page(403, "Refused", principal.error().message)
                         : not_found();
    return decision;
  }
  auto route = session_routes_.find(path->session_id);
  if (!route) {
    decision.reply = error_reply(route.error());
    return decision;
  }
  if (!*route || ((*route)->user_id != principal->user.id && !principal->user.admin)) {
    decision.reply = not_found();
    return decision;
  }
  if (path->bare) {
    decision.reply = HttpReply{302, "text/plain", "", {{"Location", exchange.path + "/"}}, nullptr};
    return decision;
  }
  const SessionRoute& target = **route;
  if (target.state != SessionState::running && target.state != SessionState::starting) {
    decision.reply = page(503, "Session not running",
                          fmt::format("This session is {}.", to_string(target.state)));
    return decision;
  }
  if (target.host.empty() || target.port <= 0) {
    decision.reply = page(503, "Session not running", "This session has no Jupyter yet.");
    return decision;
  }
  decision.host = target.host;
  decision.port = static_cast<std::uint16_t>(target.port);
  decision.target = exchange.target;
  decision.set_headers = {{"Authorization", "token " + target.jupyter_token}};
  decision.strip_cookies = {kSessionCookie};
  decision.credential = principal->credential_digest;
  return decision;
}

}  // namespace gpupool::server
