#include "cli/app_commands.hpp"

#include <iostream>

#include <fmt/format.h>

#include "cli/client.hpp"

namespace gpupool::cli {

namespace {

std::string shared_text(const nlohmann::json& app) {
  std::string text;
  for (const auto& user : app["shared_users"])
    text += (text.empty() ? "" : ", ") + user.get<std::string>();
  for (const auto& group : app["shared_groups"])
    text += (text.empty() ? "group " : ", group ") + group.get<std::string>();
  if (app["link_expires_at"].is_string())
    text +=
        (text.empty() ? "" : ", ") + ("a link until " + app["link_expires_at"].get<std::string>());
  return text.empty() ? "you only" : "you, " + text;
}

}  // namespace

int expose(const ExposeOptions& options) {
  nlohmann::json body = {{"port", options.port},
                         {"keep_path", options.keep_path},
                         {"users", options.users},
                         {"groups", options.groups},
                         {"link_hours", options.link_hours}};
  auto app = call("POST", "/api/v1/sessions/" + options.session_id + "/apps", body);
  if (!app) return 1;
  std::cout << fmt::format("port {} of {}: {}\n  open to {}\n", options.port, options.session_id,
                           (*app)["url"].get<std::string>(), shared_text(*app));
  if ((*app)["link"].is_string()) {
    std::cout << fmt::format("  link (anyone who has it, until it expires; shown once):\n  {}\n",
                             (*app)["link"].get<std::string>());
  }
  std::cout << fmt::format("  the app is served under /s/{}/apps/{}/{}\n", options.session_id,
                           options.port,
                           options.keep_path ? " (paths arrive whole: give the app this prefix)"
                                             : " (the prefix is cut off: the app sees \"/\")");
  return 0;
}

int list_apps(const std::string& session_id) {
  auto apps = call("GET", "/api/v1/sessions/" + session_id + "/apps");
  if (!apps) return 1;
  if ((*apps)["apps"].empty()) {
    std::cout << fmt::format("{} exposes no ports (gpupool expose {} PORT)\n", session_id,
                             session_id);
  }
  for (const auto& app : (*apps)["apps"]) {
    std::cout << fmt::format("{:<6} {}  ({})\n", app["port"].get<int>(),
                             app["url"].get<std::string>(), shared_text(app));
  }
  return 0;
}

int unexpose(const std::string& session_id, int port) {
  auto removed = call("DELETE", fmt::format("/api/v1/sessions/{}/apps/{}", session_id, port));
  if (!removed) return 1;
  std::cout << fmt::format("port {} of {} is no longer exposed\n", port, session_id);
  return 0;
}

}  // namespace gpupool::cli
