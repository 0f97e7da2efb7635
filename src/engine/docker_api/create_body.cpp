#include "engine/docker_api/create_body.hpp"

#include <string>

namespace gpupool::docker_api {

nlohmann::json create_body(const ContainerSpec& spec) {
  using nlohmann::json;
  json exposed = json::object();
  json bindings = json::object();
  for (const auto& port : spec.ports) {
    std::string key = std::to_string(port.container_port) + "/tcp";
    exposed[key] = json::object();
    bindings[key] =
        json::array({{{"HostIp", port.host_ip}, {"HostPort", std::to_string(port.host_port)}}});
  }
  json mounts = json::array();
  for (const auto& mount : spec.mounts) {
    if (mount.host_path.empty()) {
      mounts.push_back({{"Type", "volume"},
                        {"Source", mount.volume},
                        {"Target", mount.target},
                        {"ReadOnly", mount.read_only}});
    } else {
      // A directory that is missing is an error, not made by the engine as root's.
      mounts.push_back({{"Type", "bind"},
                        {"Source", mount.host_path},
                        {"Target", mount.target},
                        {"ReadOnly", mount.read_only},
                        {"BindOptions", {{"CreateMountpoint", false}}}});
    }
  }
  json host_config = {
      {"Init", true},  // the engine's tiny init is PID 1 and reaps zombies
      {"Privileged", false},
      {"CapDrop", json::array({"ALL"})},
      {"CapAdd", spec.cap_add},
      {"SecurityOpt", json::array({"no-new-privileges"})},
      {"ReadonlyRootfs", false},
      {"NetworkMode", spec.network},
      {"IpcMode", "private"},
      {"PidMode", ""},
      {"Memory", spec.memory_bytes},
      {"MemorySwap", spec.memory_bytes},  // no swap beyond the memory limit
      {"NanoCpus", spec.nano_cpus},
      {"PidsLimit", spec.pids_limit},
      {"PortBindings", bindings},
      {"Mounts", mounts},
      {"RestartPolicy", {{"Name", "no"}}},
  };
  if (spec.disable_ipv6) {
    // The session's network is IPv4 only; without this the container would still have
    // link-local IPv6 to the host, around the IPv4 firewall.
    host_config["Sysctls"] = {{"net.ipv6.conf.all.disable_ipv6", "1"},
                              {"net.ipv6.conf.default.disable_ipv6", "1"}};
  }
  if (spec.log_max_bytes > 0) {
    // Docker's "local" driver would also do, but json-file is what every engine has; two
    // files of half the bound each, rotated.
    host_config["LogConfig"] = {
        {"Type", "json-file"},
        {"Config", {{"max-size", std::to_string(spec.log_max_bytes / 2)}, {"max-file", "2"}}}};
  }
  if (spec.disk_bytes > 0) host_config["StorageOpt"] = {{"size", std::to_string(spec.disk_bytes)}};
  json device_requests = json::array();
  if (!spec.gpu_uuids.empty()) {
    device_requests.push_back({{"Driver", "nvidia"},
                               {"DeviceIDs", spec.gpu_uuids},
                               {"Capabilities", json::array({json::array({"gpu"})})}});
  }
  // What `docker run --device nvidia.com/gpu=…` sends; Podman 5.4+ reads the same.
  if (!spec.cdi_devices.empty())
    device_requests.push_back({{"Driver", "cdi"}, {"DeviceIDs", spec.cdi_devices}});
  if (!device_requests.empty()) host_config["DeviceRequests"] = device_requests;
  return {
      {"Image", spec.image},       {"Cmd", spec.command},     {"Entrypoint", json::array()},
      {"Env", spec.env},           {"Labels", spec.labels},   {"User", spec.user},
      {"Hostname", spec.hostname}, {"ExposedPorts", exposed}, {"HostConfig", host_config},
  };
}

}  // namespace gpupool::docker_api
