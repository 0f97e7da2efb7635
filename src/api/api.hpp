// Api: the REST API v1 (design.md) as one HttpHandler: routing, authentication, CSRF,
// input validation and JSON replies. Errors are {"error":{"code","message"}} with a fitting
// status. Thread-safe; it owns nothing but references to the services.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api/imports.hpp"
#include "api/views.hpp"

namespace gpupool::api {

struct ApiSettings {
  ViewContext view;
  bool secure_cookies = false;        // under TLS
  std::function<bool()> ready;        // /readyz: store and engine answering
  TunnelRegistry* tunnels = nullptr;  // logout closes the caller's proxied WebSockets
  // Set: each session's Jupyter is served from <id>.<session_domain> (session_passes.hpp).
  std::string session_domain;
  const TelemetryBoard* telemetry = nullptr;  // GPU readings for the admins' nodes view
  bool prepaid = true;                        // as SessionSettings::prepaid, for the API to say
};

inline constexpr int kMaxEventStreamsPerUser = 16;

// Live views (GET /api/v1/events) open per user, so one user cannot hold every connection.
class OpenStreamCount {
 public:
  bool try_open(std::int64_t user_id);
  void release(std::int64_t user_id);

 private:
  std::mutex mutex_;
  std::map<std::int64_t, int> open_;
};

class Api {
 public:
  Api(ApiSettings settings, AuthService& auth, SessionService& sessions, Store& store,
      const Clock& clock)
      : settings_(std::move(settings)),
        auth_(auth),
        sessions_(sessions),
        store_(store),
        clock_(clock),
        session_routes_(store),
        passes_(clock) {}

  HttpReply handle(const HttpExchange& exchange);
  // For requests under /s/ (proxy_handlers.cpp): the session's Jupyter, or why not.
  ProxyDecision route_proxy(const HttpExchange& exchange);

 private:
  HttpReply route(const HttpExchange& exchange);
  HttpReply admin_route(const HttpExchange& exchange);
  // At a session's own address with a ticket: the pass, and back to `path` without it.
  ProxyDecision enter_session(const std::string& session_id, const std::string& ticket,
                              const std::string& path, const std::string& other_parameters);
  // Who the caller is (API token or login cookie; cross-origin writes refused). With
  // `pass_for`, the cookie must be a pass into that session instead (session_passes.hpp).
  Result<Principal> identify(const HttpExchange& exchange, const std::string& pass_for = "");
  // identify(), and for cookie writes the CSRF token too.
  Result<Principal> authenticate(const HttpExchange& exchange);

  HttpReply login(const HttpExchange& exchange);
  HttpReply logout(const Principal& principal);
  HttpReply mint_token(const HttpExchange& exchange, const Principal& principal);
  HttpReply me(const Principal& principal);
  HttpReply put_ssh_keys(const HttpExchange& exchange, const Principal& principal);
  HttpReply create_user(const HttpExchange& exchange, const Principal& principal);
  HttpReply create_session(const HttpExchange& exchange, const Principal& principal);
  HttpReply list_sessions(const HttpExchange& exchange, const Principal& principal);
  // The caller's sessions; everyone's with ?all=true, for admins only.
  Result<std::vector<Session>> listed_sessions(const HttpExchange& exchange,
                                               const Principal& principal);
  HttpReply get_session(const Principal& principal, const std::string& id);
  HttpReply stop_session(const Principal& principal, const std::string& id);
  HttpReply pool();
  HttpReply images();
  // Prices and usage (metering_handlers.cpp).
  HttpReply list_prices();
  HttpReply set_price(const HttpExchange& exchange, const std::string& model);  // admins
  HttpReply usage(const HttpExchange& exchange, const Principal& principal);
  HttpReply balance(const Principal& principal);
  HttpReply top_up(const HttpExchange& exchange, const Principal& principal,
                   const std::string& username);  // admins
  HttpReply events(const Principal& principal);   // event_handlers.cpp
  // {"sessions": [view, …]}: GET /api/v1/sessions and the live view's "sessions" event.
  nlohmann::json sessions_document(const std::vector<Session>& sessions) const;
  // "/" and /ui/* (web_handlers.cpp); nullopt for other paths.
  std::optional<HttpReply> web_page(const std::string& path);

  // Admin (admin_handlers.cpp); callers have checked the principal is an admin.
  HttpReply list_users();
  HttpReply list_groups();
  HttpReply create_group(const HttpExchange& exchange);
  HttpReply set_group_members(const HttpExchange& exchange, const std::string& group_name);
  HttpReply list_quotas();
  HttpReply update_node(const HttpExchange& exchange, const std::string& node);
  // GET /api/v1/nodes (node_handlers.cpp): every node with its GPUs, their readings and holders.
  Result<nlohmann::json> nodes_document();
  Result<nlohmann::json> nodes_document(const std::vector<Session>& active);
  HttpReply metrics();  // GET /metrics, Prometheus text (admins)
  HttpReply set_quota(const HttpExchange& exchange, const std::string& scope,
                      const std::string& name);
  static nlohmann::json quotas_json(const std::vector<Quota>& quotas);

  const ApiSettings settings_;
  AuthService& auth_;
  SessionService& sessions_;
  Store& store_;
  const Clock& clock_;
  std::shared_ptr<OpenStreamCount> open_streams_ = std::make_shared<OpenStreamCount>();
  SessionRoutes session_routes_;  // the proxy's view of sessions
  SessionPasses passes_;          // into sessions' own addresses
};

}  // namespace gpupool::api
