// Credentials and access: listing and revoking one's API tokens and logins (admins: anyone's),
// renewing a token, changing one's password, and an admin granting or revoking admin and
// disabling or enabling a user. Whatever a change ends is closed at once, WebSockets included.
#include "api/api.hpp"
#include "core/json_input.hpp"

namespace gpupool::api {

using nlohmann::json;

namespace {

json credential_view(const services::CredentialInfo& credential) {
  return {{"id", credential.id},
          {"kind", credential.kind == CredentialKind::login ? "login" : "api_token"},
          {"name", credential.name},
          {"created_at", format_rfc3339(credential.created_at)},
          {"expires_at", credential.expires_at == 0 ? json(nullptr)
                                                    : json(format_rfc3339(credential.expires_at))},
          {"current", credential.current}};
}

}  // namespace

Result<User> Api::user_named(const std::string& username) {
  auto users = directory_.users();
  if (!users) return users.error();
  for (const auto& user : *users) {
    if (user.username == username) return user;
  }
  return make_error(ErrorCode::not_found, "no such user");
}

void Api::close_connections(const services::EndedCredentials& ended) {
  if (settings_.tunnels == nullptr) return;
  for (const auto& digest : ended) settings_.tunnels->close_all(digest);
}

HttpReply Api::credentials_reply(const Principal& caller, std::int64_t user_id) {
  auto listed = auth_.list_credentials(caller, user_id);
  if (!listed) return error_reply(listed.error());
  json list = json::array();
  for (const auto& credential : *listed) list.push_back(credential_view(credential));
  return json_reply(200, {{"tokens", list}});
}

HttpReply Api::revoke_reply(std::int64_t user_id, const std::string& id) {
  auto revoked = auth_.revoke_credential(user_id, id);
  if (!revoked) return error_reply(revoked.error());
  close_connections({*revoked});
  return json_reply(200, {{"status", "revoked"}, {"id", id}});
}

HttpReply Api::list_tokens(const Call& call) {
  return credentials_reply(call.caller(), call.caller().user.id);
}

HttpReply Api::revoke_token(const Call& call) {
  return revoke_reply(call.caller().user.id, call.parameter("id"));
}

HttpReply Api::renew_token(const Call& call) {
  auto expires_at = auth_.renew_token(call.caller());
  if (!expires_at) return error_reply(expires_at.error());
  return json_reply(200, {{"expires_at", format_rfc3339(*expires_at)}});
}

HttpReply Api::change_password(const Call& call) {
  auto body = parse_json_object(call.exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"current_password", "new_password"});
  if (!known) return error_reply(known.error());
  auto current = required_string(*body, "current_password", 1024);
  if (!current) return error_reply(current.error());
  auto replacement = required_string(*body, "new_password", 1024);
  if (!replacement) return error_reply(replacement.error());
  auto ended = auth_.change_password(call.caller(), *current, *replacement);
  if (!ended) return error_reply(ended.error());
  close_connections(*ended);
  return json_reply(200, {{"status", "password changed"}, {"logins_ended", ended->size()}});
}

HttpReply Api::list_user_tokens(const Call& call) {
  auto user = user_named(call.parameter("username"));
  if (!user) return error_reply(user.error());
  return credentials_reply(call.caller(), user->id);
}

HttpReply Api::revoke_user_token(const Call& call) {
  auto user = user_named(call.parameter("username"));
  if (!user) return error_reply(user.error());
  return revoke_reply(user->id, call.parameter("id"));
}

// PATCH /api/v1/users/{username} {"admin"?, "disabled"?, "stop_sessions"?}
HttpReply Api::update_user(const Call& call) {
  auto body = parse_json_object(call.exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"admin", "disabled", "stop_sessions"});
  if (!known) return error_reply(known.error());
  auto admin = optional_bool(*body, "admin");
  if (!admin) return error_reply(admin.error());
  auto disabled = optional_bool(*body, "disabled");
  if (!disabled) return error_reply(disabled.error());
  auto stop_sessions = optional_bool(*body, "stop_sessions");
  if (!stop_sessions) return error_reply(stop_sessions.error());
  auto user = user_named(call.parameter("username"));
  if (!user) return error_reply(user.error());
  auto ended = auth_.set_access(call.caller(), *user, *admin, *disabled);
  if (!ended) return error_reply(ended.error());
  close_connections(*ended);
  int stopped = 0;
  if (stop_sessions->value_or(false)) {
    auto sessions = sessions_.list_sessions(*user, false);
    if (!sessions) return error_reply(sessions.error());
    for (const auto& session : *sessions) {
      if (session.state == SessionState::ended || session.state == SessionState::stopping) continue;
      if (sessions_.stop_session(*user, session.id)) ++stopped;
    }
  }
  auto updated = user_named(user->username);
  if (!updated) return error_reply(updated.error());
  json view = user_view(*updated);
  view["credentials_ended"] = ended->size();
  view["sessions_stopped"] = stopped;
  return json_reply(200, view);
}

}  // namespace gpupool::api
