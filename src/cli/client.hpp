// The CLI's connection to a gpupool server: where it is and the API token, kept in
// ~/.config/gpupool/config.json (mode 0600), overridable by GPUPOOL_URL and GPUPOOL_TOKEN.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "net/http_client.hpp"

namespace gpupool::cli {

struct ClientConfig {
  std::string url;    // "http://host:port"
  std::string token;  // API token
};

std::string config_path();

// One line from standard input; on a terminal, after `prompt` and without echo.
std::string read_secret(const std::string& prompt, bool from_stdin);

// Prints "error: <message>" to stderr and returns the failing exit code, 1.
int report(const Error& error);
Result<ClientConfig> load_config();
Status save_config(const ClientConfig& config);
// Replaces the file (a symlink's target, where it is one) by way of a temporary one beside it,
// given `mode` before anything is written into it: readers see the old text or the new, whole.
Status write_file_atomically(std::filesystem::path path, const std::string& text,
                             std::filesystem::perms mode);

// One JSON call. A reply with an {"error":…} body becomes an Error with its message.
// `set_cookie`, when given, receives the reply's Set-Cookie header.
Result<nlohmann::json> api_call(
    const ClientConfig& config, const std::string& method, const std::string& path,
    const nlohmann::json& body = nullptr,
    const std::vector<std::pair<std::string, std::string>>& headers = {},
    std::string* set_cookie = nullptr);

// A JSON value for a table: strings as they are, null as "-", anything else as JSON.
std::string text_or_dash(const nlohmann::json& value);

// Starts the user's browser on `url` ($BROWSER, or xdg-open on a desktop) and answers its
// process, not waited for; nullopt where there is none (the caller has shown the link).
std::optional<pid_t> open_in_browser(const std::string& url);

// Loads the saved login and makes one call; prints the error and returns nullopt on failure.
std::optional<nlohmann::json> call(const std::string& method, const std::string& path,
                                   const nlohmann::json& body = nullptr);

}  // namespace gpupool::cli
