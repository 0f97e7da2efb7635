#include "engine/docker_api/engine_identity.hpp"

#include <cstdio>
#include <string_view>

#include <fmt/format.h>

#include "core/json_input.hpp"

namespace gpupool::docker_api {

namespace {

using nlohmann::json;

// What the node reports of its engine stays short whatever a build calls itself.
std::string bounded(std::string text) {
  constexpr std::size_t kMaxLength = 40;
  if (text.size() > kMaxLength) text.resize(kMaxLength);
  return text;
}

bool is_podman(const json& version) {
  if (!version.contains("Components") || !version["Components"].is_array()) return false;
  for (const auto& component : version["Components"]) {
    if (string_member(component, "Name").starts_with("Podman")) return true;
  }
  return false;
}

// Podman's compatible API honours CDI device requests from 5.4 on (containers/podman#25171);
// earlier ones accept the request and start the container without the device.
bool podman_takes_cdi_requests(const std::string& version) {
  int major = 0;
  int minor = 0;
  if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) != 2) return false;
  return major > 5 || (major == 5 && minor >= 4);
}

std::vector<std::string> texts_at(const json& object, const char* key) {
  std::vector<std::string> texts;
  if (!object.is_object() || !object.contains(key) || !object[key].is_array()) return texts;
  for (const auto& item : object[key]) {
    if (item.is_string()) texts.push_back(item.get<std::string>());
  }
  return texts;
}

// Docker 28.2+ (API 1.50) lists the devices its drivers discovered: {"Source": "cdi",
// "ID": "nvidia.com/gpu=…"}.
std::optional<std::vector<std::string>> discovered_cdi_devices(const json& info) {
  if (!info.is_object() || !info.contains("DiscoveredDevices")) return std::nullopt;
  std::vector<std::string> devices;
  if (!info["DiscoveredDevices"].is_array()) return devices;
  for (const auto& device : info["DiscoveredDevices"]) {
    if (string_member(device, "Source") == "cdi" && !string_member(device, "ID").empty())
      devices.push_back(string_member(device, "ID"));
  }
  return devices;
}

}  // namespace

EngineIdentity engine_identity(const json& version, const json& info) {
  EngineIdentity identity;
  identity.product = is_podman(version) ? "Podman" : "Docker";
  identity.version = bounded(string_member(version, "Version"));
  if (identity.version.empty()) identity.version = "unknown";
  identity.api_version = bounded(string_member(version, "ApiVersion"));
  identity.cdi_spec_dirs = texts_at(info, "CDISpecDirs");
  identity.cdi_devices = discovered_cdi_devices(info);
  if (identity.podman()) {
    if (!podman_takes_cdi_requests(identity.version)) {
      identity.cdi_spec_dirs.clear();
    } else if (identity.cdi_spec_dirs.empty()) {
      identity.cdi_spec_dirs = {"/etc/cdi", "/var/run/cdi"};  // Podman's own, not reported
    }
  }
  return identity;
}

}  // namespace gpupool::docker_api

namespace gpupool {

std::string EngineIdentity::describe() const {
  return fmt::format("{} {} (API {})", product, version, api_version.empty() ? "?" : api_version);
}

}  // namespace gpupool
