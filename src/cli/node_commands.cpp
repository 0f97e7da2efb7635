#include "cli/node_commands.hpp"

#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/client.hpp"
#include "core/json_input.hpp"

namespace gpupool::cli {

using nlohmann::json;

int create_join_token(const JoinTokenOptions& options) {
  auto made = call("POST", "/api/v1/join-tokens",
                   {{"description", options.description},
                    {"valid_hours", options.valid_hours},
                    {"uses", options.uses}});
  if (!made) return 1;
  std::cout << fmt::format(
      "join token {} (expires {}, {}):\n\n  {}\n\nOn the GPU server, as root:\n\n  gpupool agent "
      "--server URL --ca-sha256 PIN --join-token {}\n\n(URL and PIN as the server printed at "
      "start.) The token is shown only now.\n",
      (*made)["id"].get<std::string>(), (*made)["expires_at"].get<std::string>(),
      options.uses < 0 ? "any number of joins" : fmt::format("{} join(s)", options.uses),
      (*made)["token"].get<std::string>(), (*made)["token"].get<std::string>());
  return 0;
}

int list_join_tokens() {
  auto listed = call("GET", "/api/v1/join-tokens");
  if (!listed) return 1;
  std::cout << fmt::format("{:<10} {:<9} {:<6} {:<10} {:<22} {}\n", "ID", "STATE", "USED",
                           "USES LEFT", "EXPIRES", "DESCRIPTION");
  for (const auto& token : (*listed)["join_tokens"]) {
    std::cout << fmt::format(
        "{:<10} {:<9} {:<6} {:<10} {:<22} {}\n", token["id"].get<std::string>(),
        token["state"].get<std::string>(), token["used"].get<int>(),
        token["uses_left"].is_null() ? std::string("any") : token["uses_left"].dump(),
        token["expires_at"].get<std::string>(), token["description"].get<std::string>());
  }
  return 0;
}

int revoke_join_token(const std::string& id) {
  if (!call("DELETE", "/api/v1/join-tokens/" + net::url_encode(id))) return 1;
  std::cout << "join token " << id << " revoked\n";
  return 0;
}

int list_nodes() {
  auto result = call("GET", "/api/v1/nodes");
  if (!result) return 1;
  std::cout << fmt::format("{:<20} {:<9} {:>9} {:<6} {:<24} {}\n", "NODE", "STATE", "GPUS FREE",
                           "CUDA", "LAST SEEN", "");
  for (const auto& node : (*result)["nodes"]) {
    std::string notes = string_member(node, "engine");
    if (!string_member(node, "gpu_devices").empty())
      notes += ", GPUs by " + string_member(node, "gpu_devices");
    if (node["simulated"].get<bool>()) notes += notes.empty() ? "simulated" : "; simulated";
    if (node.value("agent_outdated", false)) {
      notes += fmt::format("{}agent of sync protocol {}: upgrade it", notes.empty() ? "" : "; ",
                           node["agent_protocol"].get<int>());
    }
    std::cout << fmt::format(
        "{:<20} {:<9} {:>4} / {:<2} {:<6} {:<24} {}\n", node["name"].get<std::string>(),
        node["state"].get<std::string>(), node["gpus_free"].get<int>(),
        node["gpus_total"].get<int>(),
        node["driver_cuda"].is_string() ? node["driver_cuda"].get<std::string>() : "-",
        node["last_seen"].get<std::string>(), notes);
  }
  return 0;
}

int remove_node(const std::string& node) {
  auto removed = call("DELETE", "/api/v1/nodes/" + net::url_encode(node));
  if (!removed) return 1;
  std::cout << fmt::format(
      "node {}: {} credential(s) revoked; its agent is refused from now on and the name may "
      "join again. Sessions still there end as node_lost after the grace period.\n",
      node, (*removed)["credentials_revoked"].get<int>());
  return 0;
}

int set_dataset(const std::string& name, const std::string& path,
                const std::vector<std::string>& groups) {
  auto set = call("PUT", "/api/v1/datasets/" + net::url_encode(name),
                  {{"path", path}, {"groups", groups}});
  if (!set) return 1;
  std::string who = groups.empty() ? std::string("nobody yet")
                                   : fmt::format("the members of {}", fmt::join(groups, ", "));
  std::cout << fmt::format("dataset {}: {} read-only at {} in new sessions of {}\n", name, path,
                           (*set)["mounted_at"].get<std::string>(), who);
  return 0;
}

int list_datasets() {
  auto listed = call("GET", "/api/v1/datasets");
  if (!listed) return 1;
  std::cout << fmt::format("{:<20} {:<40} {}\n", "DATASET", "PATH", "GROUPS");
  for (const auto& dataset : (*listed)["datasets"]) {
    std::string groups;
    for (const auto& group : dataset["groups"])
      groups += (groups.empty() ? "" : ", ") + group.get<std::string>();
    std::cout << fmt::format("{:<20} {:<40} {}\n", dataset["name"].get<std::string>(),
                             dataset["path"].get<std::string>(), groups.empty() ? "-" : groups);
  }
  return 0;
}

int remove_dataset(const std::string& name) {
  if (!call("DELETE", "/api/v1/datasets/" + net::url_encode(name))) return 1;
  std::cout << fmt::format("dataset {} withdrawn; sessions started from now on lack it\n", name);
  return 0;
}

}  // namespace gpupool::cli
