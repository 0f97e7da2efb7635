#include "cli/commands.hpp"

#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "cli/client.hpp"
#include "core/random.hpp"

namespace gpupool::cli {

using nlohmann::json;

namespace {

// The model a session was placed on; before that, the one it asked for ("any" when none).
std::string gpu_model(const json& gpus) {
  if (gpus["placed_model"].is_string()) return gpus["placed_model"].get<std::string>();
  return gpus["model"].is_string() ? gpus["model"].get<std::string>() : "any";
}

void print_session(const json& session) {
  std::cout << fmt::format("session {}  {}", session.value("id", ""), session.value("state", ""))
            << "\n";
  if (!session.value("reason", "").empty())
    std::cout << "  reason:  " << session.value("reason", "") << "\n";
  const auto& gpus = session["gpus"];
  std::string what = gpus.value("shared", false)
                         ? fmt::format("{:g} GB share of one GPU", gpus["memory_gb"].get<double>())
                     : gpus.value("count", 0) == 0
                         ? std::string("none (billed at the CPU price)")
                         : fmt::format("{} × {}", gpus.value("count", 0), gpu_model(gpus));
  std::cout << fmt::format("  gpus:    {}{}\n", what,
                           gpus.value("simulated", false) ? " (simulated)" : "");
  std::cout << "  image:   " << session.value("image", "") << "\n";
  if (session["ends_at"].is_string())
    std::cout << "  ends at: " << session["ends_at"].get<std::string>() << "\n";
  if (session["warning"].is_string())
    std::cout << "  warning: " << session["warning"].get<std::string>() << "\n";
  if (session["jupyter"].is_object())
    std::cout << "  jupyter: " << session["jupyter"].value("url", "") << "\n";
  if (session["ssh"].is_object())
    std::cout << "  ssh:     " << session["ssh"].value("command", "") << "\n";
}

}  // namespace

int login(const std::string& url, std::string username, bool password_from_stdin) {
  if (username.empty()) {
    std::cerr << "Username: " << std::flush;
    std::getline(std::cin, username);
  }
  std::string password = read_secret("Password: ", password_from_stdin);
  ClientConfig anonymous{url, ""};
  std::string cookie;
  auto login = api_call(anonymous, "POST", "/api/v1/auth/login",
                        {{"username", username}, {"password", password}}, {}, &cookie);
  if (!login) return report(login.error());
  cookie = cookie.substr(0, cookie.find(';'));
  auto token =
      api_call(anonymous, "POST", "/api/v1/tokens", {{"name", "cli"}},
               {{"Cookie", cookie}, {"X-CSRF-Token", (*login)["csrf_token"].get<std::string>()}});
  if (!token) return report(token.error());
  auto saved = save_config({url, (*token)["token"].get<std::string>()});
  if (!saved) return report(saved.error());
  std::cout << fmt::format("logged in to {} as {} (token saved in {})\n", url,
                           (*login)["user"]["username"].get<std::string>(), config_path());
  return 0;
}

int run(const RunOptions& options) {
  auto config = load_config();
  if (!config) return report(config.error());
  json body = {{"gpus", options.gpus}};
  if (!options.image.empty()) body["image"] = options.image;
  if (!options.gpu_model.empty()) body["gpu_model"] = options.gpu_model;
  if (options.gpu_memory_gb) body["gpu_memory_gb"] = *options.gpu_memory_gb;
  if (options.preemptible) body["preemptible"] = true;
  if (options.cpus) body["cpus"] = *options.cpus;
  if (options.memory_gb) body["memory_gb"] = *options.memory_gb;
  if (options.max_hours) body["max_hours"] = *options.max_hours;
  // A dropped connection says nothing about whether the server made the session: the retries
  // carry the same Idempotency-Key, so that it is made once.
  std::vector<std::pair<std::string, std::string>> key = {{"Idempotency-Key", random_hex(16)}};
  auto session = api_call(*config, "POST", "/api/v1/sessions", body, key);
  for (int retry = 0; retry < 3 && !session && session.error().code == ErrorCode::unavailable;
       ++retry) {
    std::cerr << "the server did not answer (" << session.error().message << "); retrying\n";
    std::this_thread::sleep_for(std::chrono::seconds(1 << retry));
    session = api_call(*config, "POST", "/api/v1/sessions", body, key);
  }
  if (!session) return report(session.error());
  std::string id = (*session)["id"].get<std::string>();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.wait_seconds);
  std::string last_state;
  while (options.wait) {
    std::string state = (*session)["state"].get<std::string>();
    if (state != last_state) std::cerr << fmt::format("{}: {}\n", id, state);
    last_state = state;
    if (state == "running" || state == "ended") break;
    if (std::chrono::steady_clock::now() > deadline) {
      std::cerr << "still not running; check with `gpupool ls`\n";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    session = api_call(*config, "GET", "/api/v1/sessions/" + id);
    if (!session) return report(session.error());
  }
  print_session(*session);
  return (*session)["state"] == "ended" ? 1 : 0;
}

int list(bool everyone, bool quiet) {
  auto config = load_config();
  if (!config) return report(config.error());
  auto result =
      api_call(*config, "GET", everyone ? "/api/v1/sessions?all=true" : "/api/v1/sessions");
  if (!result) return report(result.error());
  if (quiet) {
    for (const auto& session : (*result)["sessions"]) {
      if (session.value("state", "") != "ended") std::cout << session.value("id", "") << "\n";
    }
    return 0;
  }
  std::cout << fmt::format("{:<14} {:<10} {:<9} {:<12} {:<34} {}\n", "ID", "USER", "STATE", "GPUS",
                           "IMAGE", "SSH");
  for (const auto& session : (*result)["sessions"]) {
    const auto& gpus = session["gpus"];
    std::string gpu_text = fmt::format("{}×{}", gpus.value("count", 0), gpu_model(gpus));
    std::string ssh = session["ssh"].is_object() ? session["ssh"].value("command", "")
                                                 : session.value("reason", "");
    std::cout << fmt::format("{:<14} {:<10} {:<9} {:<12} {:<34} {}\n", session.value("id", ""),
                             session.value("user", ""), session.value("state", ""), gpu_text,
                             session.value("image", ""), ssh);
  }
  return 0;
}

int logs(const std::string& id) {
  auto log = call("GET", "/api/v1/sessions/" + id + "/log");
  if (!log) return 1;
  std::cout << fmt::format("session {}  {}\n", id, log->value("state", ""));
  for (const auto& event : (*log)["events"]) {
    std::cout << fmt::format("  {}  {:<10} {}\n", event.value("at", ""), event.value("state", ""),
                             event.value("reason", ""));
  }
  if ((*log)["start_log"].is_string()) {
    std::cout << "--- the end of what its container printed:\n"
              << (*log)["start_log"].get<std::string>();
    if (!(*log)["start_log"].get<std::string>().ends_with('\n')) std::cout << "\n";
  }
  return 0;
}

int stop(const std::string& id) {
  auto config = load_config();
  if (!config) return report(config.error());
  auto result = api_call(*config, "DELETE", "/api/v1/sessions/" + id);
  if (!result) return report(result.error());
  std::cout << fmt::format("{}: {}\n", id, (*result)["state"].get<std::string>());
  return 0;
}

Result<nlohmann::json> running_session_links(const std::string& id, const std::string& links) {
  auto config = load_config();
  if (!config) return config.error();
  auto session = api_call(*config, "GET", "/api/v1/sessions/" + id);
  if (!session) return session.error();
  if (!(*session)[links].is_object()) {
    return make_error(ErrorCode::conflict, fmt::format("session {} is {}, not running", id,
                                                       (*session)["state"].get<std::string>()));
  }
  return (*session)[links];
}

int open(const std::string& id, bool vscode) {
  auto links = running_session_links(id, "jupyter");
  if (!links) return report(links.error());
  std::string url = (*links)["url"].get<std::string>();
  if (vscode) {
    auto editor = running_session_links(id, "vscode");
    if (!editor) {
      return report(make_error(ErrorCode::conflict,
                               fmt::format("session {}'s image has no VS Code for the browser "
                                           "(code-server); for VS Code's Remote-SSH: gpupool ssh "
                                           "--config {}",
                                           id, id)));
    }
    url = (*editor)["url"].get<std::string>();
  }
  std::cout << url << "\n";
  if (auto child = open_in_browser(url)) {
    int status = 0;
    waitpid(*child, &status, 0);
  }
  return 0;
}

int pool() {
  auto config = load_config();
  if (!config) return report(config.error());
  auto result = api_call(*config, "GET", "/api/v1/pool");
  if (!result) return report(result.error());
  std::cout << fmt::format("{:<16} {:>6} {:>6}\n", "GPU MODEL", "FREE", "TOTAL");
  for (const auto& model : (*result)["gpu_models"]) {
    std::cout << fmt::format("{:<16} {:>6} {:>6}\n", model.value("model", ""),
                             model.value("free", 0), model.value("total", 0));
  }
  std::cout << fmt::format("queued sessions: {}{}\n", (*result).value("queue_length", 0),
                           (*result).value("simulated", false) ? "  (GPUs are simulated)" : "");
  return 0;
}

}  // namespace gpupool::cli
