// The CLI's account commands: the caller's logins and API tokens (admins: anyone's), renewing
// the saved token, changing one's password; for admins, granting and revoking admin, disabling
// and enabling users, and reading the audit log. Thin over the REST API; each returns a
// process exit code.
#pragma once

#include <optional>
#include <string>

namespace gpupool::cli {

int list_tokens(const std::string& user);  // user: "" for the caller's own
int revoke_token(const std::string& id, const std::string& user);
int renew_token();
int change_password(bool from_stdin);  // from stdin: the current password, then the new one

struct UserAccessChange {
  std::string user;
  std::optional<bool> admin;
  std::optional<bool> disabled;
  bool stop_sessions = false;
};
int set_user_access(const UserAccessChange& change);

struct AuditQuery {
  std::string actor;
  std::string action;  // a prefix: "login" matches "login failed" too
  std::string since;   // RFC 3339
  std::string before;  // an entry id, for the page after the one shown
  int limit = 50;
};
int show_audit(const AuditQuery& query);

}  // namespace gpupool::cli
