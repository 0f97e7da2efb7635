// The gateway's side of /s/<session>/…: who may reach which session's Jupyter, and where it is.
#include <strings.h>

#include <fmt/format.h>

#include "api/api.hpp"
#include "core/log.hpp"
#include "gateway/app_preamble.hpp"
#include "gateway/proxy_route.hpp"
#include "gateway/replies.hpp"
#include "gateway/request_origin.hpp"
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

// A query split into one parameter's value ("" when absent) and everything else (what the
// browser is sent back to once a ticket or link is spent).
struct SplitQuery {
  std::string value;
  std::string rest;
};

SplitQuery take_parameter(std::string_view query, std::string_view name) {
  std::string prefix = std::string(name) + "=";
  SplitQuery split;
  while (!query.empty()) {
    auto end = query.find('&');
    auto pair = query.substr(0, end);
    if (pair.starts_with(prefix)) {
      split.value = std::string(pair.substr(prefix.size()));
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

// Whether a session in this state may have a Jupyter to reach.
bool serves_jupyter(SessionState state) {
  return state == SessionState::running || state == SessionState::starting;
}

bool is_websocket_upgrade(const HttpExchange& exchange) {
  std::string upgrade = exchange.header("Upgrade");
  return strncasecmp(upgrade.c_str(), "websocket", 10) == 0;
}

// "/s/<id>/apps/6006" → "/s/<id>/apps/6006/", with the query kept.
HttpReply with_trailing_slash(const HttpExchange& exchange) {
  return redirect(exchange.path + "/" + (exchange.query.empty() ? "" : "?" + exchange.query));
}

// The way to `port` of a session's container: its node's app relay, told which session and
// port by the preamble (with the session's token). False, with the page saying so, where the
// node has no relay; `what` names what it would have reached.
bool through_app_relay(ProxyDecision& decision, const services::SessionRoute& target,
                       const std::string& session_id, int port, std::string_view what) {
  if (target.host.empty() || target.app_relay_port <= 0) {
    decision.reply = page(503, fmt::format("No {} here", what),
                          fmt::format("This session's node does not relay {} (a Slurm node, or an "
                                      "agent older than this server).",
                                      what));
    return false;
  }
  decision.host = target.host;
  decision.port = static_cast<std::uint16_t>(target.app_relay_port);
  decision.preamble = gateway::app_preamble({session_id, port, target.jupyter_token});
  return true;
}

HttpReply not_found_page() {
  return page(404, "No such session",
              "There is no such session, or it is not yours. Sign in to see your sessions.");
}

}  // namespace

std::optional<std::string> Api::session_address(const HttpExchange& exchange) const {
  if (session_ports_.is_session_port(exchange.local_port)) {
    return session_ports_.session_at(exchange.local_port);
  }
  return gateway::session_in_host(exchange.header("Host"), settings_.session_domain);
}

Result<std::string> Api::session_origin(const std::string& session_id) {
  if (!settings_.session_domain.empty()) {
    return gateway::session_origin(settings_.view.gateway_url, settings_.session_domain,
                                   session_id);
  }
  auto port = session_ports_.assign(session_id, [this](const std::string& id) {
    auto route = session_routes_.find(id);
    // A store that does not answer keeps the port where it is.
    return !route || (*route && serves_jupyter((*route)->state));
  });
  if (!port) {
    return make_error(ErrorCode::unavailable,
                      "every session port of this gateway serves an open session; try again "
                      "when one ends");
  }
  return gateway::origin_with_port(settings_.view.gateway_url, *port);
}

Result<std::string> Api::entry_link(const Principal& principal, const std::string& session_id,
                                    const std::string& path, const std::string& query) {
  auto origin = session_origin(session_id);
  if (!origin) return origin.error();
  std::string ticket = passes_.issue_ticket(principal.credential_digest, session_id);
  return fmt::format("{}{}?{}{}={}", *origin, path, query.empty() ? "" : query + "&",
                     kTicketParameter, ticket);
}

ProxyDecision Api::route_proxy(const HttpExchange& exchange) {
  ProxyDecision decision;
  auto path = gateway::parse_session_path(exchange.path);
  if (!path) {
    decision.reply = page(400, "Bad session address", path.error().message);
    return decision;
  }
  // A session's own address (its port, or its name under --session-domain) serves that
  // session only, and its cookie is a pass into it; the gateway's address hands out passes.
  auto own_session = session_address(exchange);
  bool own_address = own_session.has_value();
  if (own_address && *own_session != path->session_id) {
    decision.reply = not_found_page();
    return decision;
  }
  if (!own_address) {
    if (auto refused = refuse_planted_login_cookies(exchange)) {
      decision.reply = std::move(refused);
      return decision;
    }
  }
  if (own_address && exchange.header("Authorization").empty()) {
    if (auto query = take_parameter(exchange.query, kTicketParameter); !query.value.empty()) {
      return enter_session(path->session_id, query.value, exchange.path, query.rest);
    }
  }
  auto app_path = gateway::parse_app_path(exchange.path, path->session_id);
  if (!app_path) {
    decision.reply = not_found_page();
    return decision;
  }
  if (*app_path) return route_app(exchange, path->session_id, **app_path, own_address);
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
  bool owner = *route && (*route)->user_id == principal->user.id;
  if (!*route || (!owner && !principal->user.admin)) {
    decision.reply = not_found_page();
    return decision;
  }
  if (path->bare) {
    decision.reply = redirect(exchange.path + "/");
    return decision;
  }
  if (!own_address && principal->kind == CredentialKind::login) {
    decision.reply = send_to_session_address(exchange, *principal, path->session_id, owner);
    return decision;
  }
  if (auto own_page = session_page(path->session_id, exchange.path)) {
    decision.reply = std::move(own_page);
    return decision;
  }
  const services::SessionRoute& target = **route;
  if (!serves_jupyter(target.state)) {
    decision.reply = page(503, "Session not running",
                          fmt::format("This session is {}.", to_string(target.state)));
    return decision;
  }
  if (auto vscode = gateway::parse_vscode_path(exchange.path, path->session_id))
    return route_code_server(exchange, path->session_id, target, *vscode, *principal);
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
  take_tunnel_slot(exchange, std::to_string(principal->user.id), decision);
  return decision;
}

void Api::take_tunnel_slot(const HttpExchange& exchange, const std::string& visitor,
                           ProxyDecision& decision) {
  if (!is_websocket_upgrade(exchange)) return;
  decision.tunnel_slot = open_websockets_.take(visitor);
  if (!decision.tunnel_slot) {
    decision.reply = page(429, "Too many connections",
                          fmt::format("At most {} WebSocket connections to sessions may be open at "
                                      "once. Close some notebook, terminal or editor tabs.",
                                      open_websockets_.per_user()));
    return;
  }
  decision.tunnel_idle_time = settings_.websocket_idle_time;
}

ProxyDecision Api::route_code_server(const HttpExchange& exchange, const std::string& session_id,
                                     const services::SessionRoute& target,
                                     const gateway::VscodePath& vscode_path,
                                     const Principal& visitor) {
  ProxyDecision decision;
  if (vscode_path.bare) {
    decision.reply = with_trailing_slash(exchange);
    return decision;
  }
  if (!through_app_relay(decision, target, session_id, gateway::kCodeServerPort, "VS Code"))
    return decision;
  decision.upstream_name = "VS Code (code-server) of this session";
  decision.target = vscode_path.rest + (exchange.query.empty() ? "" : "?" + exchange.query);
  // Every cookie of the browser's is replaced by code-server's own sign-in (session_init.sh).
  decision.set_headers = {{"Cookie", "code-server-session=" + target.jupyter_token}};
  decision.credential = visitor.credential_digest;
  take_tunnel_slot(exchange, std::to_string(visitor.user.id), decision);
  return decision;
}

// A browser at the gateway's address, signed in: never served a session's content here (it
// would run with the login's full power over the API), but sent on to the session's own
// address with a ticket in. An admin enters someone else's session only by the portal's
// explicit, audited step (POST /api/v1/sessions/{id}/entry).
HttpReply Api::send_to_session_address(const HttpExchange& exchange, const Principal& principal,
                                       const std::string& session_id, bool may_enter) {
  if (!may_enter) {
    return page(403, "Enter from the portal",
                "This session is another user's. Admins enter it with the portal's Enter "
                "button, which records the entry in the audit log.");
  }
  if (exchange.method != "GET" && exchange.method != "HEAD") {
    return page(403, "Refused", "Open this session from the portal.");
  }
  auto link = entry_link(principal, session_id, exchange.path, exchange.query);
  if (!link) return page(503, "No free session port", link.error().message);
  return redirect(*link);
}

HttpReply Api::enter_session_by_portal(const Call& call) {
  const Principal& principal = call.caller();
  if (principal.kind != CredentialKind::login) {
    return error_reply(ErrorCode::invalid_argument,
                       "entering a session is for a browser signed in to the portal; with an API "
                       "token, call /s/<id>/ directly");
  }
  auto session = sessions_.get_session(principal.user, call.parameter("id"));
  if (!session) return error_reply(session.error());
  if (!serves_jupyter(session->state)) {
    return error_reply(ErrorCode::conflict,
                       fmt::format("the session is {}", to_string(session->state)));
  }
  auto link = entry_link(principal, session->id, "/s/" + session->id + "/", "");
  if (!link) return error_reply(link.error());
  if (session->user_id != principal.user.id) {
    spdlog::warn("audit: admin {} entered session {} of user {} from {}", principal.user.username,
                 session->id, session->username, client_address(call.exchange));
  }
  return json_reply(200, {{"url", *link}});
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

namespace gpupool::api {

ProxyDecision Api::route_app(const HttpExchange& exchange, const std::string& session_id,
                             const gateway::AppPath& app_path, bool own_address) {
  ProxyDecision decision;
  auto route = session_routes_.find(session_id);
  if (!route) {
    decision.reply = error_reply(route.error());
    return decision;
  }
  auto app = apps_.find(session_id, app_path.port);
  if (!app) {
    decision.reply = error_reply(app.error());
    return decision;
  }
  // A port nobody exposed looks like a session that is not there.
  if (!*route || !*app) {
    decision.reply = not_found_page();
    return decision;
  }
  const services::SessionRoute& target = **route;
  // Anyone holding a link, at the session's own address only (its cookie is for this app).
  bool by_link = false;
  if (own_address && exchange.header("Authorization").empty()) {
    if (auto query = take_parameter(exchange.query, kAppLinkParameter); !query.value.empty())
      return enter_app_by_link(exchange, **app, query.value, query.rest);
    for (const auto& token : gateway::cookie_values(exchange.header("Cookie"), kAppLinkCookie))
      by_link = by_link || apps_.link_opens(**app, token);
  }
  std::string visitor;  // whose WebSocket slots a tunnel takes
  if (by_link) {
    // As with a login's pass: other sites' pages may only navigate here, and writes and
    // WebSocket upgrades must come from the app's own pages.
    if (gateway::started_by_another_origin(exchange) ||
        !gateway::cookie_write_allowed(exchange, true)) {
      decision.reply = page(403, "Refused", "requests started by another site's page are refused");
      return decision;
    }
    visitor = "link:" + (*app)->link_digest;
  } else {
    auto principal = identify(exchange, own_address ? session_id : "");
    if (!principal) {
      decision.reply = principal.error().code == ErrorCode::forbidden
                           ? page(403, "Refused", principal.error().message)
                           : not_found_page();
      return decision;
    }
    auto may_open = apps_.may_open(**app, target.user_id, principal->user);
    if (!may_open) {
      decision.reply = error_reply(may_open.error());
      return decision;
    }
    if (!*may_open) {
      decision.reply = not_found_page();
      return decision;
    }
    if (!own_address && principal->kind == CredentialKind::login) {
      decision.reply = send_to_session_address(exchange, *principal, session_id, true);
      return decision;
    }
    decision.credential = principal->credential_digest;
    visitor = std::to_string(principal->user.id);
  }
  if (app_path.bare) {
    decision.reply = with_trailing_slash(exchange);
    return decision;
  }
  if (!serves_jupyter(target.state)) {
    decision.reply = page(503, "Session not running",
                          fmt::format("This session is {}.", to_string(target.state)));
    return decision;
  }
  if (!through_app_relay(decision, target, session_id, app_path.port, "web apps")) return decision;
  decision.upstream_name = fmt::format("port {} of this session", app_path.port);
  std::string prefix = fmt::format("/s/{}/apps/{}", session_id, app_path.port);
  decision.target = (*app)->keep_path
                        ? exchange.target
                        : app_path.rest + (exchange.query.empty() ? "" : "?" + exchange.query);
  decision.set_headers = {{"X-Forwarded-Prefix", prefix}};
  decision.strip_cookies = {kSessionCookie, kPassCookie, kAppLinkCookie};
  take_tunnel_slot(exchange, visitor, decision);
  return decision;
}

ProxyDecision Api::enter_app_by_link(const HttpExchange& exchange, const SessionApp& app,
                                     const std::string& token,
                                     const std::string& other_parameters) {
  ProxyDecision decision;
  if (!apps_.link_opens(app, token)) {
    decision.reply = page(404, "Link expired",
                          "This link has expired or was replaced. Ask whoever shared it for a "
                          "new one.");
    return decision;
  }
  decision.reply =
      redirect(exchange.path + (other_parameters.empty() ? "" : "?" + other_parameters));
  UnixMillis left = app.link_expires_at - clock_.now();
  decision.reply->headers.emplace_back(
      "Set-Cookie", fmt::format("{}={}; Path=/s/{}/apps/{}/; Max-Age={}; HttpOnly; SameSite=Lax{}",
                                kAppLinkCookie, token, app.session_id, app.port, left / 1000,
                                settings_.secure_cookies ? "; Secure" : ""));
  return decision;
}

}  // namespace gpupool::api
