#include "agent/activity_sensor.hpp"

#include <charconv>
#include <chrono>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/session_container.hpp"
#include "net/http_client.hpp"

namespace gpupool::agent {

namespace {

using Json = nlohmann::json;

// The latest "last_activity" in a list of Jupyter objects; false when one has a malformed one.
bool latest_activity(const Json& list, UnixMillis& latest) {
  for (const auto& item : list) {
    if (!item.is_object()) return false;
    auto stamp = item.find("last_activity");
    if (stamp == item.end() || stamp->is_null()) continue;
    if (!stamp->is_string()) return false;
    auto parsed = parse_rfc3339(stamp->get<std::string>());
    if (!parsed) return false;
    latest = std::max(latest, *parsed);
  }
  return true;
}

std::optional<std::string> read_whole(const std::string& path) {
  std::ifstream file(path);
  if (!file) return std::nullopt;
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

std::optional<JupyterUse> parse_jupyter_use(std::string_view kernels, std::string_view terminals) {
  auto kernel_list = Json::parse(kernels, nullptr, false);
  auto terminal_list = Json::parse(terminals, nullptr, false);
  if (!kernel_list.is_array() || !terminal_list.is_array()) return std::nullopt;
  JupyterUse use;
  use.kernels = static_cast<int>(kernel_list.size());
  use.terminals = static_cast<int>(terminal_list.size());
  if (!latest_activity(kernel_list, use.last_activity) ||
      !latest_activity(terminal_list, use.last_activity))
    return std::nullopt;
  // The session's own code answers for Jupyter: a state that is not a string is malformed.
  for (const auto& kernel : kernel_list) {
    auto state = kernel.find("execution_state");
    if (state == kernel.end()) continue;
    if (!state->is_string()) return std::nullopt;
    // "busy" while it executes; "starting" counts too: someone is about to use it.
    if (*state == "busy" || *state == "starting") use.busy_kernels += 1;
  }
  return use;
}

int established_connections(std::string_view table, int port) {
  constexpr std::string_view kEstablished = "01";
  int count = 0;
  std::size_t line_start = table.find('\n');  // the first line names the columns
  while (line_start != std::string_view::npos && line_start + 1 < table.size()) {
    std::size_t line_end = table.find('\n', line_start + 1);
    std::string_view line = table.substr(line_start + 1, line_end - line_start - 1);
    line_start = line_end;
    // "  0: 0100007F:08AE 0100007F:D1C2 01 …": slot, local address:port, remote, state.
    std::istringstream fields{std::string(line)};
    std::string slot, local, remote, state;
    if (!(fields >> slot >> local >> remote >> state)) continue;
    auto colon = local.rfind(':');
    if (colon == std::string::npos) continue;
    int local_port = 0;
    auto digits = std::string_view(local).substr(colon + 1);
    auto [end, error] =
        std::from_chars(digits.data(), digits.data() + digits.size(), local_port, 16);
    if (error != std::errc() || end != digits.data() + digits.size()) continue;
    if (local_port == port && state == kEstablished) count += 1;
  }
  return count;
}

ActivitySample LiveActivitySensor::sample(const WatchedSession& session) {
  ActivitySample sample;
  if (auto nanos = engine_.cpu_time_nanos(session.container_id)) sample.cpu_nanos = *nanos;
  sample.jupyter = read_jupyter(session);
  sample.ssh_connections = count_ssh_connections(session.container_id);
  return sample;
}

std::optional<JupyterUse> LiveActivitySensor::read_jupyter(const WatchedSession& session) {
  using namespace std::chrono_literals;
  net::HttpEndpoint endpoint;
  endpoint.host = jupyter_host_;
  endpoint.port = static_cast<std::uint16_t>(session.jupyter_port);
  std::string answers[2];
  const char* paths[2] = {"kernels", "terminals"};
  for (int i = 0; i < 2; ++i) {
    net::HttpRequest request{"GET",
                             fmt::format("/s/{}/api/{}", session.session_id, paths[i]),
                             "",
                             {{"Authorization", "token " + session.jupyter_token}}};
    auto response = net::http_call(endpoint, request, 2s);
    // No terminals (a server without them) is no terminal, not an unknown.
    if (response && response->status == 404 && i == 1) {
      answers[i] = "[]";
      continue;
    }
    if (!response || response->status != 200) return std::nullopt;
    answers[i] = std::move(response->body);
  }
  return parse_jupyter_use(answers[0], answers[1]);
}

std::optional<int> LiveActivitySensor::count_ssh_connections(const std::string& container_id) {
  // The container's network namespace, seen through its main process: the host's /proc shows
  // each process's own TCP table.
  auto status = engine_.inspect_container(container_id);
  if (!status || status->pid <= 0) return std::nullopt;
  int count = 0;
  bool read_any = false;
  for (const char* table : {"tcp", "tcp6"}) {
    auto text = read_whole(fmt::format("/proc/{}/net/{}", status->pid, table));
    if (!text) continue;
    read_any = true;
    count += established_connections(*text, kSshContainerPort);
  }
  if (!read_any) return std::nullopt;
  return count;
}

}  // namespace gpupool::agent
