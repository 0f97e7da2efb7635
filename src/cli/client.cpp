#include "cli/client.hpp"

#include <spawn.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

namespace gpupool::cli {

using nlohmann::json;
using namespace std::chrono_literals;

int report(const Error& error) {
  std::cerr << "error: " << error.message << "\n";
  return 1;
}

std::string read_secret(const std::string& prompt, bool from_stdin) {
  std::string secret;
  if (from_stdin || !isatty(STDIN_FILENO)) {
    std::getline(std::cin, secret);
    return secret;
  }
  std::cerr << prompt << std::flush;
  termios saved{};
  tcgetattr(STDIN_FILENO, &saved);
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::getline(std::cin, secret);
  tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  std::cerr << "\n";
  return secret;
}

std::string config_path() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  std::string base = xdg && *xdg ? xdg : std::string(home ? home : ".") + "/.config";
  return base + "/gpupool/config.json";
}

Result<ClientConfig> load_config() {
  ClientConfig config;
  std::ifstream in(config_path());
  if (in) {
    auto parsed = json::parse(in, nullptr, false);
    if (parsed.is_object()) {
      config.url = parsed.value("url", "");
      config.token = parsed.value("token", "");
    }
  }
  if (const char* url = std::getenv("GPUPOOL_URL"); url && *url) config.url = url;
  if (const char* token = std::getenv("GPUPOOL_TOKEN"); token && *token) config.token = token;
  if (config.url.empty() || config.token.empty()) {
    return make_error(ErrorCode::unauthorized, "not logged in: run `gpupool login URL` first");
  }
  return config;
}

Status save_config(const ClientConfig& config) {
  std::filesystem::path path = config_path();
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec)
    return make_error(ErrorCode::internal, fmt::format("cannot create {}: {}",
                                                       path.parent_path().string(), ec.message()));
  // The token is a credential: the owner's alone.
  return write_file_atomically(
      path, json{{"url", config.url}, {"token", config.token}}.dump(2) + "\n",
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

Status write_file_atomically(std::filesystem::path path, const std::string& text,
                             std::filesystem::perms mode) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_symlink(path)) {  // (false, too, for a file not there yet)
    path = fs::canonical(path, ec);
    if (ec) return make_error(ErrorCode::internal, fmt::format("cannot resolve {}", path.string()));
  }
  std::string temporary = path.string() + ".gpupool-tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!out) return make_error(ErrorCode::internal, "cannot write " + temporary);
    fs::permissions(temporary, mode, ec);  // before anything is in it
    out << text;
    if (!out.flush()) return make_error(ErrorCode::internal, "cannot write " + temporary);
  }
  fs::rename(temporary, path, ec);
  if (ec)
    return make_error(ErrorCode::internal,
                      fmt::format("cannot write {}: {}", path.string(), ec.message()));
  return {};
}

Result<json> api_call(const ClientConfig& config, const std::string& method,
                      const std::string& path, const json& body,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      std::string* set_cookie) {
  auto endpoint = net::parse_http_endpoint(config.url);
  if (!endpoint) return endpoint.error();
  net::HttpRequest request{method, path, body.is_null() ? "" : body.dump(), headers};
  if (!config.token.empty())
    request.headers.emplace_back("Authorization", "Bearer " + config.token);
  auto response = net::http_call(*endpoint, request, 60s);
  if (!response) return response.error();
  auto parsed = json::parse(response->body, nullptr, false);
  if (response->status >= 400) {
    std::string message = parsed.is_object() && parsed.contains("error")
                              ? parsed["error"].value("message", response->body)
                              : fmt::format("HTTP {}", response->status);
    return make_error(response->status == 404 ? ErrorCode::not_found : ErrorCode::invalid_argument,
                      message);
  }
  if (parsed.is_discarded())
    return make_error(ErrorCode::internal, "the server sent something that is not JSON");
  if (set_cookie != nullptr) *set_cookie = response->header("Set-Cookie");
  return parsed;
}

std::optional<pid_t> open_in_browser(const std::string& url) {
  // A desktop gets the page in its browser; elsewhere the link is the answer.
  const char* browser = std::getenv("BROWSER");
  bool desktop = std::getenv("DISPLAY") != nullptr || std::getenv("WAYLAND_DISPLAY") != nullptr;
  if (browser == nullptr && !desktop) return std::nullopt;
  std::string opener = browser != nullptr ? browser : "xdg-open";
  std::string link = url;
  std::vector<char*> argv = {opener.data(), link.data(), nullptr};
  pid_t child = 0;
  if (posix_spawnp(&child, opener.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
    std::cerr << "could not start " << opener << "; open the link above yourself\n";
    return std::nullopt;
  }
  return child;
}

std::optional<nlohmann::json> call(const std::string& method, const std::string& path,
                                   const nlohmann::json& body) {
  auto config = load_config();
  if (!config) {
    report(config.error());
    return std::nullopt;
  }
  auto result = api_call(*config, method, path, body);
  if (!result) {
    report(result.error());
    return std::nullopt;
  }
  return std::move(*result);
}

std::string text_or_dash(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "-";
  return value.dump();
}

}  // namespace gpupool::cli
