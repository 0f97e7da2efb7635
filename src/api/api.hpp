// Api: the REST API v1 (design.md), the portal's pages and the health checks as one
// HttpHandler: a route table (routes.cpp) says who may call what; handlers validate input,
// call the services and reply in JSON. Errors are {"error":{"code","message"}} with a fitting
// status. Thread-safe; it owns nothing but references to the services.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api/agent_protocols.hpp"
#include "api/imports.hpp"
#include "api/metrics.hpp"
#include "api/route_pattern.hpp"
#include "api/views.hpp"
#include "auth/oidc_client.hpp"
#include "core/histogram.hpp"

namespace gpupool::api {

struct ApiSettings {
  ViewContext view;
  bool secure_cookies = false;        // under TLS
  std::function<bool()> ready;        // /readyz: store and engine answering
  TunnelRegistry* tunnels = nullptr;  // logout closes the caller's proxied WebSockets
  // Set: each session's Jupyter is served from <id>.<session_domain> (session_passes.hpp).
  std::string session_domain;
  // Otherwise from a port of its own: the gateway's listeners for sessions (session_ports.hpp).
  std::vector<std::uint16_t> session_ports;
  TelemetryBoard* telemetry = nullptr;  // GPU readings: from agents' syncs, for the nodes view
  // Set: agents' syncs are held until their node's desired state changes (a long poll);
  // otherwise answered at once.
  SyncWaits* sync_waits = nullptr;
  bool prepaid = true;  // as SessionSettings::prepaid, for the API to say
  // Peers whose X-Forwarded-For names the client (gateway/client_address.hpp); none: the
  // connection's peer is the client.
  std::vector<Ipv4Block> trusted_proxies;
  int audit_retention_days = 365;  // at least services::kMinAuditRetentionDays
  // WebSockets into sessions one user may hold open at once, and how long one may carry
  // nothing before the gateway closes it (the browser reconnects when it is wanted again).
  std::size_t max_websockets_per_user = 128;
  std::chrono::seconds websocket_idle_time{3600};
  // The largest file the session's file page (web/files.js) uploads.
  int upload_limit_mb = 4096;
  // Whether a user may set this webhook URL: well-formed, and pointing where webhooks may go
  // (the app's net/webhook_target.hpp); the error says why not. Unset: webhooks are refused.
  std::function<Status(const std::string& url)> check_webhook_url;
  bool sends_email = false;  // an SMTP server is set: users may give addresses
  // The balance-low threshold of users who chose none (SessionSettings::balance_low_micros).
  std::int64_t balance_low_micros = 0;
  // What a registry reference's tag names now, for images admins add; unset: only references
  // that carry a digest or name no registry can be added.
  services::DigestResolver resolve_digest;
  // Sessions saved as images (as SessionSettings::image_saves).
  services::ImageSaveSettings image_saves;
  // Set: users may sign in through this OpenID Connect provider (api/oidc_handlers.cpp),
  // their accounts made and kept by oidc_accounts, their refresh tokens by oidc_tokens.
  auth::OidcClient* oidc = nullptr;
  services::ExternalAccounts* oidc_accounts = nullptr;
  services::ProviderTokens* oidc_tokens = nullptr;  // its users' refresh tokens
};

// Live views (GET /api/v1/events) one user may hold open, so one user cannot hold every
// connection.
inline constexpr std::size_t kMaxEventStreamsPerUser = 16;
// Longer session ids are never issued; refusing them early keeps them out of queries and logs.
inline constexpr std::size_t kMaxSessionIdLength = 64;

// Who may call a route; the dispatcher checks it before the handler runs.
enum class Access {
  anyone,  // no credential: health, the portal's pages, login
  user,    // any signed-in user (API token, or login cookie with CSRF for writes)
  admin,   // a signed-in admin
  node,    // a joined node's agent, by its node credential (Call::node says which)
};

// A request on its way to its handler: the exchange, who is calling, and what the route's
// pattern and the query string held (both percent-decoded).
struct Call {
  const HttpExchange& exchange;
  const Principal* principal = nullptr;  // set on every route not open to anyone
  PathParameters parameters;
  std::vector<std::pair<std::string, std::string>> query;
  std::string node;  // Access::node routes: the node the credential speaks for

  const Principal& caller() const { return *principal; }
  // The value of the route pattern's "{name}" ("" when the pattern has none).
  const std::string& parameter(std::string_view name) const;
  // Whether the query says name=true (exactly that name; ?xall=true is not ?all=true).
  bool query_flag(std::string_view name) const;
  // The query's value for `name` (its first), or `fallback` when absent.
  std::string query_value(std::string_view name, std::string fallback = "") const;
};

class Api;
struct Route {
  std::string_view method;
  std::string_view pattern;  // route_pattern.hpp
  Access access;
  HttpReply (Api::*handler)(const Call&);
};

class Api {
 public:
  Api(ApiSettings settings, AuthService& auth, SessionService& sessions, Store& store,
      const Clock& clock)
      : settings_(std::move(settings)),
        auth_(auth),
        sessions_(sessions),
        clock_(clock),
        directory_(store, clock),
        accounts_(store, settings_.prepaid),
        audit_(store, clock, settings_.audit_retention_days),
        open_websockets_(settings_.max_websockets_per_user),
        session_routes_(store),
        passes_(clock),
        session_ports_(settings_.session_ports),
        enrollment_(store, clock),
        image_catalog_(store, clock, settings_.resolve_digest),
        rollouts_(store, clock, &audit_),
        image_saves_(store, clock, settings_.image_saves),
        apps_(store, sessions, clock),
        store_(store) {}

  HttpReply handle(const HttpExchange& exchange);
  // For requests under /s/ (proxy_handlers.cpp): the session's Jupyter, or why not.
  ProxyDecision route_proxy(const HttpExchange& exchange);

  // Every route of the REST API, the portal and the health checks, with who may call it
  // (routes.cpp): the one place that says who may do what.
  static const std::vector<Route>& routes();

 private:
  // Finds the route, checks who is calling, and runs its handler (routes.cpp).
  HttpReply dispatch(const HttpExchange& exchange);
  // Writes what the audit log keeps of this call: sign-ins and credential changes by anyone,
  // every write by an admin (audit_handlers.cpp).
  void audit(const Call& call, const Route& route, const HttpReply& reply);
  void audit_login(const HttpExchange& exchange, const std::string& username,
                   const HttpReply& reply);
  HttpReply list_audit(const Call& call);
  // A signed-in browser at the gateway's address asking for a session (proxy_handlers.cpp).
  // `may_enter`: the caller may see what the path asks for (the owner, or one an app is
  // shared with); others get the admins' "enter from the portal".
  HttpReply send_to_session_address(const HttpExchange& exchange, const Principal& principal,
                                    const std::string& session_id, bool may_enter);
  // Requests for /s/<id>/apps/<port>/… once the session and path are known
  // (proxy_handlers.cpp): who may open the app, and the way to it through its node's relay.
  ProxyDecision route_app(const HttpExchange& exchange, const std::string& session_id,
                          const gateway::AppPath& app_path, bool own_address);
  // Requests for /s/<id>/vscode/… from the owner or an admin, at the session's own address:
  // its code-server, through the node's relay, signed in by a cookie only the gateway sends.
  ProxyDecision route_code_server(const HttpExchange& exchange, const std::string& session_id,
                                  const services::SessionRoute& target,
                                  const gateway::VscodePath& vscode_path, const Principal& visitor);
  // A WebSocket upgrade takes one of the visitor's tunnel slots; none left: the 429 page.
  void take_tunnel_slot(const HttpExchange& exchange, const std::string& visitor,
                        ProxyDecision& decision);
  // Pages of gpupool's own at a session's address (/s/<id>/gpupool/…: the file page that
  // uploads into the home through the session's Jupyter); nullopt for any other path.
  std::optional<HttpReply> session_page(const std::string& session_id, std::string_view path);
  // At a session's own address with an app's link: its cookie, and back without the link.
  ProxyDecision enter_app_by_link(const HttpExchange& exchange, const SessionApp& app,
                                  const std::string& token, const std::string& other_parameters);
  // At a session's own address with a ticket: the pass, and back to `path` without it.
  ProxyDecision enter_session(const std::string& session_id, const std::string& ticket,
                              const std::string& path, const std::string& other_parameters);
  // Who the caller is (API token or login cookie; cross-origin writes refused). With
  // `pass_for`, the cookie must be a pass into that session instead (session_passes.hpp).
  Result<Principal> identify(const HttpExchange& exchange, const std::string& pass_for = "");
  // 401 for a request with two login cookies (one planted by a page of another origin on
  // this host), expiring both; nullopt for any other.
  std::optional<HttpReply> refuse_planted_login_cookies(const HttpExchange& exchange) const;
  // Which session's own address the request came to (its port, or its name under
  // --session-domain): "" when that port serves none now; nullopt for the gateway's address.
  std::optional<std::string> session_address(const HttpExchange& exchange) const;
  // A one-use link for this login's browser into the session's own origin, at `path` (with
  // `query`); unavailable when every session port serves an open session.
  Result<std::string> entry_link(const Principal& principal, const std::string& session_id,
                                 const std::string& path, const std::string& query);
  // The session's own origin ("https://<id>.<domain>" or "http://host:<its port>").
  Result<std::string> session_origin(const std::string& session_id);
  nlohmann::json app_json(const SessionApp& app) const;
  // The client's address: the peer, or what a trusted proxy says it saw.
  std::string client_address(const HttpExchange& exchange) const;
  // identify(), and for cookie writes the CSRF token too.
  Result<Principal> authenticate(const HttpExchange& exchange);

  // Health (routes.cpp) and the portal's pages: "/" and /ui/* (web_handlers.cpp).
  HttpReply healthz(const Call& call);
  HttpReply readyz(const Call& call);
  HttpReply web_page(const Call& call);

  // Sign-in and the caller's own profile (api.cpp).
  HttpReply login(const Call& call);
  HttpReply logout(const Call& call);
  HttpReply auth_providers(const Call& call);
  HttpReply oidc_start(const Call& call);
  HttpReply oidc_callback(const Call& call);
  HttpReply cli_confirmation_page(const HttpExchange& exchange, const User& user,
                                  const nlohmann::json& cli);
  HttpReply cli_confirm(const Call& call);
  HttpReply cli_loopback(const nlohmann::json& cli, const std::string& fields);
  HttpReply cli_token(const Call& call);
  std::string oidc_redirect_uri() const;
  HttpReply mint_token(const Call& call);
  HttpReply me(const Call& call);
  HttpReply profile(const Principal& principal);  // GET /api/v1/me's document
  HttpReply put_ssh_keys(const Call& call);

  // Credentials and access (credential_handlers.cpp).
  HttpReply list_tokens(const Call& call);
  HttpReply revoke_token(const Call& call);
  HttpReply renew_token(const Call& call);
  HttpReply change_password(const Call& call);
  HttpReply list_user_tokens(const Call& call);
  HttpReply revoke_user_token(const Call& call);
  HttpReply update_user(const Call& call);
  HttpReply credentials_reply(const Principal& caller, std::int64_t user_id);
  HttpReply revoke_reply(std::int64_t user_id, const std::string& id);
  Result<User> user_named(const std::string& username);
  // Closes the WebSockets and streams held by credentials that were just deleted.
  void close_connections(const services::EndedCredentials& ended);

  // Sessions, the pool and the catalog (api.cpp).
  HttpReply create_session(const Call& call);
  HttpReply list_sessions(const Call& call);
  // The caller's sessions; everyone's with ?all=true, for admins only.
  Result<std::vector<Session>> listed_sessions(const Call& call);
  HttpReply get_session(const Call& call);
  HttpReply session_log(const Call& call);
  HttpReply expose_app(const Call& call);
  HttpReply list_apps(const Call& call);
  HttpReply remove_app(const Call& call);
  HttpReply stop_session(const Call& call);
  // What /metrics shows of running sessions, idle reclaim and the ledger (node_handlers.cpp).
  Result<SessionFigures> session_figures(const std::vector<Session>& active);
  // Notifications and webhooks (notification_handlers.cpp).
  HttpReply list_notifications(const Call& call);
  HttpReply read_notifications(const Call& call);
  HttpReply get_webhook(const Call& call);
  HttpReply put_webhook(const Call& call);
  HttpReply delete_webhook(const Call& call);
  // The portal's charts (chart_handlers.cpp).
  HttpReply pool_chart(const Call& call);
  HttpReply usage_chart(const Call& call);
  // Monthly statements and efficiency reports (report_handlers.cpp).
  HttpReply statement(const Call& call);
  HttpReply efficiency_report(const Call& call);
  Result<services::Statement> user_statement(const services::Period& period, const User& user);
  Result<services::Statement> group_statement(const services::Period& period,
                                              const std::string& name);
  // Sessions of the user (or everyone's) not ended before `since`, by id.
  Result<std::map<std::string, Session>> sessions_since(std::optional<std::int64_t> user_id,
                                                        UnixMillis since);
  // Where else a user is told: e-mail, balance-low threshold (notify_settings_handlers.cpp).
  HttpReply get_notify_settings(const Call& call);
  HttpReply put_notify_settings(const Call& call);
  HttpReply confirm_email(const Call& call);
  HttpReply put_user_notify_settings(const Call& call);
  HttpReply change_notify_settings(std::int64_t user_id, const std::string& body,
                                   bool vouched_by_admin);
  nlohmann::json notify_settings_view(const NotifySettings& settings) const;
  // The user's newest notifications and how many are unread (empty when the store fails).
  nlohmann::json notifications_document(std::int64_t user_id, int newest);
  // Idle reclaim (idle_handlers.cpp).
  HttpReply keep_session(const Call& call);
  HttpReply set_session_idle(const Call& call);
  HttpReply list_idle_policies(const Call& call);
  HttpReply set_idle_policy(const Call& call);
  HttpReply delete_idle_policy(const Call& call);
  // POST /api/v1/sessions/{id}/entry: a one-use link into the session's own address for the
  // caller's browser; an admin's way into another user's session (proxy_handlers.cpp).
  HttpReply enter_session_by_portal(const Call& call);
  HttpReply pool(const Call& call);
  // The image catalog (image_handlers.cpp).
  HttpReply images(const Call& call);
  HttpReply add_image(const Call& call);
  HttpReply change_image(const Call& call);
  HttpReply recheck_image(const Call& call);
  HttpReply save_session_image(const Call& call);
  HttpReply my_images(const Call& call);
  // Whose images a my-images call is about: the caller's, or (admins only) ?user='s.
  Result<std::string> images_owner(const Call& call);
  HttpReply remove_my_image(const Call& call);
  HttpReply image_reply(int status, const Image& image);
  // Image roll-outs by family (rollout_handlers.cpp).
  HttpReply list_rollouts(const Call& call);
  HttpReply put_rollout(const Call& call);
  HttpReply promote_rollout(const Call& call);
  HttpReply halt_rollout(const Call& call);
  HttpReply delete_rollout(const Call& call);
  HttpReply events(const Call& call);  // event_handlers.cpp
  // {"sessions": [view, …]}: GET /api/v1/sessions and the live view's "sessions" event.
  nlohmann::json sessions_document(const std::vector<Session>& sessions) const;

  // Prices, usage and balances (metering_handlers.cpp).
  HttpReply list_prices(const Call& call);
  HttpReply set_price(const Call& call);
  HttpReply usage(const Call& call);
  HttpReply balance(const Call& call);
  HttpReply top_up(const Call& call);

  // Administration (admin_handlers.cpp, node_handlers.cpp).
  HttpReply create_user(const Call& call);
  HttpReply list_users(const Call& call);
  HttpReply list_groups(const Call& call);
  HttpReply create_group(const Call& call);
  HttpReply set_group_members(const Call& call);
  HttpReply list_datasets(const Call& call);  // dataset_handlers.cpp
  HttpReply put_dataset(const Call& call);
  HttpReply delete_dataset(const Call& call);
  HttpReply list_quotas(const Call& call);
  HttpReply set_quota(const Call& call);
  HttpReply list_nodes(const Call& call);
  HttpReply update_node(const Call& call);
  HttpReply remove_unknown_container(const Call& call);
  HttpReply adopt_unknown_container(const Call& call);
  HttpReply metrics(const Call& call);  // GET /metrics, Prometheus text
  HttpReply remove_node(const Call& call);

  // The settings' view with each node's address, for SSH commands that reach the session.
  ViewContext view_context() const;

  // Nodes joining and syncing (agent_handlers.cpp).
  HttpReply create_join_token(const Call& call);
  HttpReply list_join_tokens(const Call& call);
  HttpReply revoke_join_token(const Call& call);
  HttpReply agent_join(const Call& call);
  HttpReply agent_sync(const Call& call);
  HttpReply slurm_ready(const Call& call);
  HttpReply slurm_activity(const Call& call);
  HttpReply slurm_start_failure(const Call& call);
  // The node an agent's Authorization header speaks for.
  Result<std::string> authenticate_node(const HttpExchange& exchange);
  // GET /api/v1/nodes: every node with its GPUs, their readings and holders.
  Result<nlohmann::json> nodes_document();
  Result<nlohmann::json> nodes_document(const std::vector<Session>& active);
  static nlohmann::json quotas_json(const std::vector<Quota>& quotas);

  const ApiSettings settings_;
  AuthService& auth_;
  SessionService& sessions_;
  const Clock& clock_;
  services::Directory directory_;
  services::Accounts accounts_;
  services::AuditLog audit_;
  gateway::UserSlots open_streams_{kMaxEventStreamsPerUser};
  gateway::UserSlots open_websockets_;          // sized from the settings
  SessionRoutes session_routes_;                // the proxy's view of sessions
  SessionPasses passes_;                        // into sessions' own addresses
  Histogram request_latency_{kLatencyBuckets};  // of routed calls (not /s/), for /metrics
  services::SessionPorts session_ports_;        // without --session-domain
  services::NodeEnrollment enrollment_;
  services::ImageCatalog image_catalog_;
  services::Rollouts rollouts_;
  services::ImageSaves image_saves_;
  services::SessionApps apps_;      // web apps sessions serve through the gateway
  AgentProtocols agent_protocols_;  // shown with the nodes
  Store& store_;
};

}  // namespace gpupool::api
