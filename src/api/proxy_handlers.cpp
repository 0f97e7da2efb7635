// The gateway's side of /s/<session>/…: who may reach which session's Jupyter, and where it is.
#include <fmt/format.h>

#include "api/api.hpp"
#include "gateway/proxy_route.hpp"
#include "gateway/replies.hpp"
#include "services/session_passes.hpp"

namespace gpupool::api {

namespace {

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

// A query split into the ticket parameter's value ("" when absent) and everything else
// (what the browser is sent back to once the ticket is spent).
struct TicketQuery {
  std::string ticket;
  std::string rest;
};

TicketQuery take_ticket(std::string_view query) {
  std::string prefix = std::string(kTicketParameter) + "=";
  TicketQuery split;
  while (!query.empty()) {
    auto end = query.find('&');
    auto pair = query.substr(0, end);
    if (pair.starts_with(prefix)) {
      split.ticket = std::string(pair.substr(prefix.size()));
    } else if (!pair.empty()) {
      split.rest += (split.rest.empty() ? "" : "&") + std::string(pair);
    }
    if (end == std::string_view::npos) break;
    query.remove_prefix(end + 1);
  }
  return split;
}

HttpReply redirect(const std::string& location) {
  return HttpReply{302, "text/plain", "", {{"Location", location}}, nullptr};
}

HttpReply not_found_page() {
  return page(404, "No such session",
              "There is no such session, or it is not yours. Sign in to see your sessions.");
}

}  // namespace

ProxyDecision Api::route_proxy(const HttpExchange& exchange) {
  ProxyDecision decision;
  auto path = gateway::parse_session_path(exchange.path);
  if (!path) {
    decision.reply = page(400, "Bad session address", path.error().message);
    return decision;
  }
  // Under --session-domain, a session's own address serves that session only, and its
  // cookie is a pass into it; the gateway's address hands out those passes.
  auto host_label = gateway::session_in_host(exchange.header("Host"), settings_.session_domain);
  bool own_address = host_label.has_value();
  if (own_address && *host_label != path->session_id) {
    decision.reply = not_found_page();
    return decision;
  }
  if (own_address && exchange.header("Authorization").empty()) {
    if (auto query = take_ticket(exchange.query); !query.ticket.empty()) {
      return enter_session(path->session_id, query.ticket, exchange.path, query.rest);
    }
  }
  // Anonymous callers, unknown ids and other users' sessions all look alike.
  auto principal = identify(exchange, own_address ? path->session_id : "");
  if (!principal) {
    decision.reply = principal.error().code == ErrorCode::forbidden
                         ? page(403, "Refused", principal.error().message)
                         : not_found_page();
    return decision;
  }
  auto route = session_routes_.find(path->session_id);
  if (!route) {
    decision.reply = error_reply(route.error());
    return decision;
  }
  if (!*route || ((*route)->user_id != principal->user.id && !principal->user.admin)) {
    decision.reply = not_found_page();
    return decision;
  }
  if (path->bare) {
    decision.reply = redirect(exchange.path + "/");
    return decision;
  }
  if (!own_address && !settings_.session_domain.empty() &&
      principal->kind == CredentialKind::login) {
    // A browser: on to the session's own address, with a ticket in.
    if (exchange.method != "GET" && exchange.method != "HEAD") {
      decision.reply = page(403, "Refused", "Open this session from the portal.");
      return decision;
    }
    std::string ticket = passes_.issue_ticket(principal->credential_digest, path->session_id);
    decision.reply =
        redirect(gateway::session_origin(settings_.view.gateway_url, settings_.session_domain,
                                         path->session_id) +
                 exchange.path + "?" + (exchange.query.empty() ? "" : exchange.query + "&") +
                 kTicketParameter + "=" + ticket);
    return decision;
  }
  const services::SessionRoute& target = **route;
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
  decision.strip_cookies = {kSessionCookie, kPassCookie};
  decision.credential = principal->credential_digest;
  return decision;
}

// A ticket arrives at the session's own address: trade it for a pass (a cookie for this
// address and session only) and send the browser on without the ticket in its address bar.
ProxyDecision Api::enter_session(const std::string& session_id, const std::string& ticket,
                                 const std::string& path, const std::string& other_parameters) {
  ProxyDecision decision;
  auto pass = passes_.redeem(ticket, session_id);
  if (!pass) {
    decision.reply = page(404, "Link expired",
                          "This link was already used or is too old. Open the session again "
                          "from the portal.");
    return decision;
  }
  decision.reply = redirect(path + (other_parameters.empty() ? "" : "?" + other_parameters));
  decision.reply->headers.emplace_back(
      "Set-Cookie", fmt::format("{}={}; Path=/s/{}/; HttpOnly; SameSite=Lax{}", kPassCookie, *pass,
                                session_id, settings_.secure_cookies ? "; Secure" : ""));
  return decision;
}

}  // namespace gpupool::api
