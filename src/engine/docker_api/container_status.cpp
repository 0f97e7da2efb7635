#include "engine/docker_api/container_status.hpp"

#include <string>

namespace gpupool::docker_api {

namespace {

// The engine writes "0001-01-01T00:00:00Z" for a time that has not happened.
UnixMillis time_field(const nlohmann::json& state, const char* name) {
  auto found = state.find(name);
  if (found == state.end() || !found->is_string()) return 0;
  auto parsed = parse_rfc3339(found->get<std::string>());
  return parsed && *parsed > 0 ? *parsed : 0;
}

}  // namespace

ContainerStatus container_status(const nlohmann::json& state) {
  ContainerStatus status;
  if (!state.is_object()) return status;
  auto text = state.find("Status");
  if (text != state.end() && text->is_string()) status.state = text->get<std::string>();
  status.started_at = time_field(state, "StartedAt");
  status.finished_at = time_field(state, "FinishedAt");
  auto exit_code = state.find("ExitCode");
  if (exit_code != state.end() && exit_code->is_number_integer())
    status.exit_code = exit_code->get<int>();
  auto oom = state.find("OOMKilled");
  status.oom_killed = oom != state.end() && oom->is_boolean() && oom->get<bool>();
  auto pid = state.find("Pid");
  if (pid != state.end() && pid->is_number_integer() && pid->get<std::int64_t>() > 0 &&
      pid->get<std::int64_t>() < (1 << 30))
    status.pid = pid->get<int>();
  return status;
}

std::string first_ipv4(const nlohmann::json& container) {
  if (!container.is_object()) return "";
  auto settings = container.find("NetworkSettings");
  if (settings == container.end() || !settings->is_object()) return "";
  auto networks = settings->find("Networks");
  if (networks == settings->end() || !networks->is_object()) return "";
  for (const auto& [name, network] : networks->items()) {
    if (!network.is_object()) continue;
    auto address = network.find("IPAddress");
    if (address != network.end() && address->is_string() && !address->get<std::string>().empty())
      return address->get<std::string>();
  }
  return "";
}

}  // namespace gpupool::docker_api
