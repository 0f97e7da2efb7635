#include "agent/gpu_attachment.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

namespace gpupool::agent {

namespace {

namespace fs = std::filesystem;

constexpr const char* kGpuKind = "nvidia.com/gpu";
constexpr std::size_t kMaxSpecBytes = 4 << 20;

std::vector<std::string> json_spec_devices(const nlohmann::json& spec) {
  std::vector<std::string> names;
  if (!spec.is_object() || !spec.contains("kind") || !spec["kind"].is_string() ||
      !spec.contains("devices") || !spec["devices"].is_array())
    return names;
  for (const auto& device : spec["devices"]) {
    if (device.is_object() && device.contains("name") && device["name"].is_string())
      names.push_back(spec["kind"].get<std::string>() + "=" + device["name"].get<std::string>());
  }
  return names;
}

std::string_view trim(std::string_view text) {
  auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::string unquoted(std::string_view value) {
  value = trim(value);
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front())
    value = value.substr(1, value.size() - 2);
  return std::string(value);
}

// The value of `key: value` on a line that starts with `prefix`; empty when it is not one.
std::string value_after(std::string_view line, std::string_view prefix, std::string_view key) {
  if (!line.starts_with(prefix)) return "";
  line.remove_prefix(prefix.size());
  if (!line.starts_with(key) || line.substr(key.size(), 1) != ":") return "";
  return unquoted(line.substr(key.size() + 1));
}

// Block-style YAML, as generated specs are: the top-level `kind:`, and each entry of the
// top-level `devices:` list's own `name:` (the list's dash at any indentation, the entry's
// keys two columns right of it).
std::vector<std::string> yaml_spec_devices(std::string_view spec) {
  std::string kind;
  std::vector<std::string> names;
  bool in_devices = false;
  std::optional<std::string> dash;  // the indentation of the devices list's dashes
  std::istringstream lines{std::string(spec)};
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty() || trim(line).starts_with("#")) continue;
    if (line[0] != ' ' && line[0] != '-') {  // a top-level key
      in_devices = line.starts_with("devices:");
      if (auto value = value_after(line, "", "kind"); !value.empty()) kind = value;
      continue;
    }
    if (!in_devices) continue;
    auto indent = line.find_first_not_of(' ');
    if (!dash && line[indent] == '-') dash = std::string(indent, ' ');
    if (!dash) continue;
    std::string name = value_after(line, *dash + "- ", "name");
    if (name.empty()) name = value_after(line, *dash + "  ", "name");
    if (!name.empty()) names.push_back(name);
  }
  if (kind.empty()) return {};
  for (auto& name : names) name = fmt::format("{}={}", kind, name);
  return names;
}

Error no_cdi(const EngineIdentity& engine) {
  if (engine.podman()) {
    return make_error(
        ErrorCode::unavailable,
        fmt::format("{} drops GPU requests made through its Docker-compatible API (it honours "
                    "CDI requests from 5.4 on): sessions would run without the GPUs they are "
                    "given; upgrade Podman to 5.4 or newer, or run Docker with the NVIDIA "
                    "container toolkit",
                    engine.describe()));
  }
  return make_error(ErrorCode::unavailable,
                    fmt::format("--gpu-devices cdi: {} has CDI turned off (Docker 25 or newer, "
                                "with \"features\": {{\"cdi\": true}} in daemon.json)",
                                engine.describe()));
}

Error unnamed_gpus(const EngineIdentity& engine, const std::vector<std::string>& unnamed) {
  std::string where = engine.cdi_devices ? engine.describe() + " found"
                                         : fmt::format("the CDI specs in {}",
                                                       fmt::join(engine.cdi_spec_dirs, ", "));
  return make_error(ErrorCode::unavailable,
                    fmt::format("sessions are given GPUs by CDI name, and {} no {}: generate "
                                "a spec that names GPUs by UUID (nvidia-ctk cdi generate "
                                "--device-name-strategy=uuid --output=/etc/cdi/nvidia.yaml)",
                                where, fmt::join(unnamed, ", ")));
}

}  // namespace

std::string_view gpu_attachment_name(GpuAttachment attachment) {
  switch (attachment) {
    case GpuAttachment::nvidia_driver:
      return "nvidia";
    case GpuAttachment::cdi:
      return "cdi";
    case GpuAttachment::simulated:
      break;
  }
  return "";
}

std::string cdi_gpu_name(const std::string& uuid) {
  return std::string(kGpuKind) + "=" + uuid;
}

std::vector<std::string> cdi_spec_devices(std::string_view spec) {
  auto start = spec.find_first_not_of(" \t\r\n");
  if (start != std::string_view::npos && spec[start] == '{')
    return json_spec_devices(nlohmann::json::parse(spec, nullptr, false));
  return yaml_spec_devices(spec);
}

std::vector<std::string> cdi_devices_in(const std::vector<std::string>& dirs) {
  std::vector<std::string> devices;
  for (const auto& dir : dirs) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(dir, error)) {
      auto extension = entry.path().extension();
      if (!entry.is_regular_file(error) || entry.file_size(error) > kMaxSpecBytes ||
          (extension != ".yaml" && extension != ".yml" && extension != ".json"))
        continue;
      std::ifstream file(entry.path());
      std::stringstream text;
      text << file.rdbuf();
      for (auto& name : cdi_spec_devices(text.str())) devices.push_back(std::move(name));
    }
  }
  return devices;
}

Result<GpuAttachment> choose_gpu_attachment(const EngineIdentity& engine, std::string_view wanted,
                                            const std::vector<std::string>& gpu_uuids,
                                            const std::vector<std::string>& known_devices) {
  if (wanted != "auto" && wanted != "cdi" && wanted != "nvidia") {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("--gpu-devices \"{}\": expected auto, cdi or nvidia", wanted));
  }
  std::vector<std::string> unnamed;
  for (const auto& uuid : gpu_uuids) {
    if (std::find(known_devices.begin(), known_devices.end(), cdi_gpu_name(uuid)) ==
        known_devices.end())
      unnamed.push_back(cdi_gpu_name(uuid));
  }
  bool takes_cdi = !engine.cdi_spec_dirs.empty();
  if (wanted == "nvidia" && engine.podman()) {
    return make_error(ErrorCode::invalid_argument,
                      "--gpu-devices nvidia: Podman's Docker-compatible API ignores the nvidia "
                      "device driver, so sessions would run without their GPUs; use "
                      "--gpu-devices cdi (Podman 5.4 or newer)");
  }
  if (wanted == "nvidia" ||
      (wanted == "auto" && !engine.podman() && (!takes_cdi || !unnamed.empty())))
    return GpuAttachment::nvidia_driver;
  if (!takes_cdi) return no_cdi(engine);
  if (!unnamed.empty()) return unnamed_gpus(engine, unnamed);
  return GpuAttachment::cdi;
}

}  // namespace gpupool::agent
