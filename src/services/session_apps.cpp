#include "services/session_apps.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/random.hpp"

namespace gpupool::services {

namespace {

Status check_request(const AppRequest& request) {
  if (request.port < 1 || request.port > 65535)
    return make_error(ErrorCode::invalid_argument, "port must be 1–65535");
  if (request.users.size() + request.groups.size() > kMaxAppSharees) {
    return make_error(
        ErrorCode::invalid_argument,
        fmt::format("an app is shared with at most {} users and groups together", kMaxAppSharees));
  }
  if (request.link_hours < 0 || request.link_hours > kMaxAppLinkHours) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("a link lasts 1–{} hours", kMaxAppLinkHours));
  }
  return {};
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

Status SessionApps::check_node_relays(const std::string& node_name) {
  if (node_name.empty()) return {};  // not placed yet: wherever it goes is asked then
  auto nodes = store_.list_nodes();
  if (!nodes) return nodes.error();
  for (const auto& node : *nodes) {
    if (node.name == node_name && node.app_relay_port == 0) {
      return make_error(ErrorCode::conflict,
                        fmt::format("node {} does not relay web apps (a Slurm node, or an agent "
                                    "older than this server)",
                                    node_name));
    }
  }
  return {};
}

Result<ExposedApp> SessionApps::expose(const User& owner, const std::string& session_id,
                                       const AppRequest& request) {
  GPUPOOL_TRY(check_request(request));
  auto session = sessions_.get_session(owner, session_id);
  if (!session) return session.error();
  if (session->user_id != owner.id) return make_error(ErrorCode::not_found, "no such session");
  if (session->state == SessionState::ended)
    return make_error(ErrorCode::conflict, "the session has ended");
  GPUPOOL_TRY(check_node_relays(session->node));
  auto existing = store_.session_apps(session_id);
  if (!existing) return existing.error();
  auto same_port = [&](const SessionApp& app) { return app.port == request.port; };
  bool replaces = std::any_of(existing->begin(), existing->end(), same_port);
  if (!replaces && existing->size() >= static_cast<std::size_t>(kMaxAppsPerSession)) {
    return make_error(
        ErrorCode::conflict,
        fmt::format("a session exposes at most {} ports; remove one first", kMaxAppsPerSession));
  }
  ExposedApp exposed;
  SessionApp& app = exposed.app;
  app.session_id = session_id;
  app.port = request.port;
  app.keep_path = request.keep_path;
  app.created_at = clock_.now();
  for (const auto& name : request.users) {
    auto user = store_.find_user_by_name(name);
    if (!user) return user.error();
    if (!*user) return make_error(ErrorCode::invalid_argument, "no user named " + name);
    if ((*user)->user.id == owner.id || contains(app.shared_users, name)) continue;
    app.shared_users.push_back(name);
  }
  for (const auto& name : request.groups) {
    auto group = store_.find_group(name);
    if (!group) return group.error();
    if (!*group) return make_error(ErrorCode::invalid_argument, "no group named " + name);
    if (!contains(app.shared_groups, name)) app.shared_groups.push_back(name);
  }
  if (request.link_hours > 0) {
    exposed.link_token = random_token(24);
    app.link_digest = digest_hex(exposed.link_token);
    app.link_expires_at = app.created_at + UnixMillis{request.link_hours} * 3600 * 1000;
  }
  GPUPOOL_TRY(store_.put_session_app(app));
  return exposed;
}

Result<std::vector<SessionApp>> SessionApps::list(const User& owner,
                                                  const std::string& session_id) {
  auto session = sessions_.get_session(owner, session_id);
  if (!session) return session.error();
  return store_.session_apps(session_id);
}

Status SessionApps::remove(const User& owner, const std::string& session_id, int port) {
  auto session = sessions_.get_session(owner, session_id);
  if (!session) return session.error();
  if (session->user_id != owner.id) return make_error(ErrorCode::not_found, "no such session");
  auto removed = store_.remove_session_app(session_id, port);
  if (!removed) return removed.error();
  if (!*removed)
    return make_error(ErrorCode::not_found, fmt::format("port {} is not exposed", port));
  return {};
}

Result<std::optional<SessionApp>> SessionApps::find(const std::string& session_id, int port) {
  auto apps = apps_of_sessions_.get(session_id, [&] { return store_.session_apps(session_id); });
  if (!apps) return apps.error();
  for (auto& app : *apps) {
    if (app.port == port) return std::optional<SessionApp>{std::move(app)};
  }
  return std::optional<SessionApp>{};
}

Result<bool> SessionApps::may_open(const SessionApp& app, std::int64_t owner_id,
                                   const User& visitor) {
  if (visitor.id == owner_id || contains(app.shared_users, visitor.username)) return true;
  if (app.shared_groups.empty()) return false;
  auto groups = groups_of_users_.get(std::to_string(visitor.id),
                                     [&] { return store_.groups_of(visitor.id); });
  if (!groups) return groups.error();
  return std::any_of(groups->begin(), groups->end(),
                     [&](const Group& group) { return contains(app.shared_groups, group.name); });
}

bool SessionApps::link_opens(const SessionApp& app, const std::string& token) const {
  return !app.link_digest.empty() && clock_.now() < app.link_expires_at &&
         secrets_equal(digest_hex(token), app.link_digest);
}

}  // namespace gpupool::services
