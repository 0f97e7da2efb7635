#include "cli/account_commands.hpp"

#include <unistd.h>

#include <iostream>

#include <fmt/format.h>

#include "cli/client.hpp"

namespace gpupool::cli {

using net::url_encode;
using nlohmann::json;

namespace {

std::string tokens_path(const std::string& user) {
  return user.empty() ? "/api/v1/tokens" : "/api/v1/users/" + url_encode(user) + "/tokens";
}

}  // namespace

int list_tokens(const std::string& user) {
  auto result = call("GET", tokens_path(user));
  if (!result) return 1;
  std::cout << fmt::format("{:<17} {:<10} {:<16} {:<24} {:<24}\n", "ID", "KIND", "NAME", "CREATED",
                           "EXPIRES");
  for (const auto& token : (*result)["tokens"]) {
    std::cout << fmt::format(
        "{:<17} {:<10} {:<16} {:<24} {:<24}{}\n", token["id"].get<std::string>(),
        token["kind"].get<std::string>(), token["name"].get<std::string>(),
        token["created_at"].get<std::string>(), text_or_dash(token["expires_at"]),
        token["current"].get<bool>() ? "  (this one)" : "");
  }
  return 0;
}

int revoke_token(const std::string& id, const std::string& user) {
  auto result = call("DELETE", tokens_path(user) + "/" + url_encode(id));
  if (!result) return 1;
  std::cout << fmt::format("revoked {}; its connections are closed\n", id);
  return 0;
}

int renew_token() {
  auto result = call("POST", "/api/v1/tokens/renew");
  if (!result) return 1;
  std::cout << "the saved token now expires at " << (*result)["expires_at"].get<std::string>()
            << "\n";
  return 0;
}

int change_password(bool from_stdin) {
  std::string current = read_secret("Current password: ", from_stdin);
  std::string replacement = read_secret("New password: ", from_stdin);
  if (!from_stdin && isatty(STDIN_FILENO) != 0 &&
      read_secret("New password again: ", from_stdin) != replacement) {
    return report(make_error(ErrorCode::invalid_argument, "the two new passwords differ"));
  }
  auto result = call("POST", "/api/v1/me/password",
                     {{"current_password", current}, {"new_password", replacement}});
  if (!result) return 1;
  std::cout << fmt::format(
      "password changed; {} other sign-in{} ended (API tokens stay: "
      "`gpupool token ls`)\n",
      (*result)["logins_ended"].get<int>(), (*result)["logins_ended"].get<int>() == 1 ? "" : "s");
  return 0;
}

int set_user_access(const UserAccessChange& change) {
  json body = json::object();
  if (change.admin) body["admin"] = *change.admin;
  if (change.disabled) body["disabled"] = *change.disabled;
  if (change.stop_sessions) body["stop_sessions"] = true;
  if (body.empty()) {
    return report(make_error(ErrorCode::invalid_argument,
                             "say what to change: --grant-admin, --revoke-admin, --disable, "
                             "--enable or --stop-sessions"));
  }
  auto result = call("PATCH", "/api/v1/users/" + url_encode(change.user), body);
  if (!result) return 1;
  const auto& user = *result;
  std::cout << fmt::format(
      "{}: {}, {}; {} credential{} ended, {} session{} stopped\n",
      user["username"].get<std::string>(), user["admin"].get<bool>() ? "admin" : "user",
      user["disabled"].get<bool>() ? "disabled" : "enabled", user["credentials_ended"].get<int>(),
      user["credentials_ended"].get<int>() == 1 ? "" : "s", user["sessions_stopped"].get<int>(),
      user["sessions_stopped"].get<int>() == 1 ? "" : "s");
  return 0;
}

int show_audit(const AuditQuery& query) {
  std::string path = fmt::format("/api/v1/audit?limit={}", query.limit);
  for (const auto& [name, value] : {std::pair{"actor", query.actor},
                                    {"action", query.action},
                                    {"since", query.since},
                                    {"before", query.before}}) {
    if (!value.empty()) path += fmt::format("&{}={}", name, url_encode(value));
  }
  auto result = call("GET", path);
  if (!result) return 1;
  std::cout << fmt::format("{:<8} {:<24} {:<12} {:<16} {:<4} {}\n", "ID", "AT", "ACTOR", "SOURCE",
                           "CODE", "ACTION");
  for (const auto& entry : (*result)["entries"]) {
    std::string action = entry["action"].get<std::string>();
    if (!entry["target"].get<std::string>().empty())
      action += " (" + entry["target"].get<std::string>() + ")";
    if (!entry["detail"].get<std::string>().empty())
      action += ": " + entry["detail"].get<std::string>();
    std::cout << fmt::format("{:<8} {:<24} {:<12} {:<16} {:<4} {}\n", entry["id"].dump(),
                             entry["at"].get<std::string>(), entry["actor"].get<std::string>(),
                             entry["source"].get<std::string>(), entry["outcome"].dump(), action);
  }
  if ((*result)["next_before"].is_number())
    std::cout << fmt::format("more: --before {}\n", (*result)["next_before"].dump());
  return 0;
}

}  // namespace gpupool::cli
