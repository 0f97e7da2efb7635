#include "engine/docker_api/network_body.hpp"

namespace gpupool::docker_api {

nlohmann::json network_body(const NetworkSpec& spec) {
  using nlohmann::json;
  return {
      {"Name", spec.name},
      {"CheckDuplicate", true},
      {"Driver", "bridge"},
      {"Internal", false},  // air-gapped sites are closed by the host firewall, not here
      {"Attachable", false},
      {"EnableIPv6", false},
      {"IPAM", {{"Driver", "default"}, {"Config", json::array({{{"Subnet", spec.subnet}}})}}},
      {"Options", {{"com.docker.network.bridge.name", spec.bridge_name}}},
      {"Labels", spec.labels},
  };
}

NetworkInfo network_info(const nlohmann::json& item) {
  NetworkInfo info;
  if (!item.is_object()) return info;
  if (item.contains("Name") && item["Name"].is_string()) info.name = item["Name"];
  if (item.contains("Labels") && item["Labels"].is_object()) {
    for (const auto& [key, value] : item["Labels"].items())
      if (value.is_string()) info.labels[key] = value;
  }
  const auto ipam = item.find("IPAM");
  if (ipam == item.end() || !ipam->is_object() || !ipam->contains("Config") ||
      !(*ipam)["Config"].is_array())
    return info;
  for (const auto& config : (*ipam)["Config"]) {
    if (config.is_object() && config.contains("Subnet") && config["Subnet"].is_string())
      info.subnets.push_back(config["Subnet"]);
  }
  return info;
}

}  // namespace gpupool::docker_api
