#include "app/account_cli.hpp"

namespace gpupool::app {

AccountCli::AccountCli(CLI::App& app, CLI::App& admin) {
  auto* token = app.add_subcommand("token", "list, revoke and renew your API tokens and logins");
  token->require_subcommand(1);
  token_ls_ = token->add_subcommand("ls", "list your live logins and API tokens (never secrets)");
  token_ls_->add_option("--user", user_, "another user's (admins)");
  token_revoke_ = token->add_subcommand("revoke", "revoke a login or token; its links close");
  token_revoke_->add_option("id", token_id_, "the ID that `gpupool token ls` shows")->required();
  token_revoke_->add_option("--user", user_, "another user's (admins)");
  token_renew_ = token->add_subcommand("renew", "give the saved token 30 more days");

  passwd_ = app.add_subcommand("passwd", "change your password (ends your other sign-ins)");
  passwd_->add_flag("--password-stdin", password_stdin_,
                    "read the current password, then the new one, from standard input");

  user_set_ = admin.add_subcommand("user-set", "grant or revoke admin; disable or enable a user");
  user_set_->add_option("name", access_.user, "user name")->required();
  auto* grant = user_set_->add_flag("--grant-admin", grant_admin_, "make the user an admin");
  user_set_->add_flag("--revoke-admin", revoke_admin_, "make the user a plain user")
      ->excludes(grant);
  auto* disable = user_set_->add_flag(
      "--disable", disable_, "refuse their sign-in and end their logins and tokens at once");
  user_set_->add_flag("--enable", enable_, "let a disabled user sign in again")->excludes(disable);
  user_set_->add_flag("--stop-sessions", access_.stop_sessions, "also stop their sessions");

  audit_ = admin.add_subcommand("audit", "read the audit log, newest first");
  audit_->add_option("--actor", audit_query_.actor, "only this user's entries");
  audit_->add_option("--action", audit_query_.action,
                     "only actions starting so, e.g. login or \"PATCH /api/v1/users\"");
  audit_->add_option("--since", audit_query_.since, "only from this time on (RFC 3339, UTC)");
  audit_->add_option("--before", audit_query_.before, "the next page: entries before this ID");
  audit_->add_option("--limit", audit_query_.limit, "entries to show (1-1000)")
      ->capture_default_str();
}

std::optional<int> AccountCli::run() const {
  if (*token_ls_) return cli::list_tokens(user_);
  if (*token_revoke_) return cli::revoke_token(token_id_, user_);
  if (*token_renew_) return cli::renew_token();
  if (*passwd_) return cli::change_password(password_stdin_);
  if (*audit_) return cli::show_audit(audit_query_);
  if (*user_set_) {
    cli::UserAccessChange change = access_;
    if (grant_admin_ || revoke_admin_) change.admin = grant_admin_;
    if (disable_ || enable_) change.disabled = disable_;
    return cli::set_user_access(change);
  }
  return std::nullopt;
}

}  // namespace gpupool::app
