// The names the API layer uses unqualified: the gateway's HTTP types, which handlers take and
// return, and the services they call. Listed once here so that each file reads plainly and
// a reader sees at a glance what the API depends on.
#pragma once

#include "gateway/client_address.hpp"
#include "gateway/cookies.hpp"
#include "gateway/http_proxy.hpp"
#include "gateway/http_server.hpp"
#include "gateway/proxy_route.hpp"
#include "gateway/replies.hpp"
#include "services/accounts.hpp"
#include "services/audit_log.hpp"
#include "services/auth_service.hpp"
#include "services/directory.hpp"
#include "services/idle_watch.hpp"
#include "services/image_catalog.hpp"
#include "services/node_enrollment.hpp"
#include "services/provider_tokens.hpp"
#include "services/session_apps.hpp"
#include "services/session_passes.hpp"
#include "services/session_ports.hpp"
#include "services/session_routes.hpp"
#include "services/session_service.hpp"
#include "services/sync_waits.hpp"
#include "services/telemetry_board.hpp"
#include "services/usage_reports.hpp"

namespace gpupool::api {

using gateway::cookie_value;
using gateway::error_reply;
using gateway::html_escape;
using gateway::HttpExchange;
using gateway::HttpReply;
using gateway::json_reply;
using gateway::kSessionCookie;
using gateway::PendingReply;
using gateway::ProxyDecision;
using gateway::TunnelRegistry;

using services::AuthService;
using services::IdleView;
using services::IdleWatch;
using services::kAppLinkCookie;
using services::kAppLinkParameter;
using services::kPassCookie;
using services::kTicketParameter;
using services::NodeReadings;
using services::PoolSummary;
using services::Principal;
using services::SessionPasses;
using services::SessionRoutes;
using services::SessionService;
using services::SyncWaits;
using services::TelemetryBoard;

}  // namespace gpupool::api
