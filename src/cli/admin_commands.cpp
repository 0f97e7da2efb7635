#include "cli/admin_commands.hpp"

#include <charconv>
#include <iostream>

#include <fmt/format.h>

#include "cli/client.hpp"

namespace gpupool::cli {

using nlohmann::json;

namespace {

std::string limit_text(const json& value, const std::string& unit = "") {
  if (value.is_null()) return "-";
  return value.is_number_float() ? fmt::format("{:g}{}", value.get<double>(), unit)
                                 : value.dump() + unit;
}

}  // namespace

int add_user(const std::string& name, bool admin) {
  std::cerr << "Password for " << name << " (from standard input): " << std::flush;
  std::string password;
  std::getline(std::cin, password);
  auto created =
      call("POST", "/api/v1/users", {{"username", name}, {"password", password}, {"admin", admin}});
  if (!created) return 1;
  std::cout << fmt::format("created user {} (uid {}){}\n",
                           (*created)["username"].get<std::string>(), (*created)["uid"].get<int>(),
                           admin ? ", admin" : "");
  return 0;
}

int create_group(const std::string& name) {
  auto created = call("POST", "/api/v1/groups", {{"name", name}});
  if (!created) return 1;
  std::cout << "created group " << (*created)["name"].get<std::string>() << "\n";
  return 0;
}

int set_group_members(const std::string& group, const std::vector<std::string>& users) {
  auto result = call("PUT", "/api/v1/groups/" + group + "/members", {{"users", users}});
  if (!result) return 1;
  std::cout << fmt::format("group {}: {} member{}\n", group, users.size(),
                           users.size() == 1 ? "" : "s");
  return 0;
}

int set_quota(const QuotaOptions& options) {
  if (options.user.empty() == options.group.empty()) {
    return report(
        make_error(ErrorCode::invalid_argument, "name exactly one of --user and --group"));
  }
  json body = json::object();
  if (options.gpus) body["max_gpus"] = *options.gpus;
  if (options.sessions) body["max_sessions"] = *options.sessions;
  if (options.gpu_memory_gb) body["max_gpu_memory_gb"] = *options.gpu_memory_gb;
  if (options.session_hours) body["max_session_hours"] = *options.session_hours;
  for (const auto& entry : options.model_gpus) {
    auto equals = entry.rfind('=');
    int count = -1;
    if (equals != std::string::npos && equals > 0) {
      auto digits = entry.substr(equals + 1);
      auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
      if (error != std::errc{} || end != digits.data() + digits.size()) count = -1;
    }
    if (count < 0) {
      return report(make_error(ErrorCode::invalid_argument,
                               fmt::format("--model-gpus takes MODEL=N, not \"{}\"", entry)));
    }
    body["max_gpus_by_model"][entry.substr(0, equals)] = count;
  }
  std::string path = options.user.empty() ? "/api/v1/quotas/group/" + options.group
                                          : "/api/v1/quotas/user/" + options.user;
  auto result = call("PUT", path, body);
  if (!result) return 1;
  std::cout << fmt::format(
      "quota for {} {}: gpus {}, sessions {}, shared GPU memory {}, session hours {}\n",
      (*result)["scope"].get<std::string>(), (*result)["name"].get<std::string>(),
      limit_text((*result)["max_gpus"]), limit_text((*result)["max_sessions"]),
      limit_text((*result)["max_gpu_memory_gb"], " GB"),
      limit_text((*result)["max_session_hours"]));
  for (const auto& [model, count] : (*result)["max_gpus_by_model"].items())
    std::cout << fmt::format("  {} GPUs: {}\n", model, count.dump());
  return 0;
}

int set_drained(const std::string& node, bool drained) {
  auto result = call("PUT", "/api/v1/nodes/" + node, {{"drained", drained}});
  if (!result) return 1;
  std::cout << fmt::format(
      "node {} {}\n", node,
      drained ? "drained: no new sessions; running ones stay" : "takes new sessions again");
  return 0;
}

int list_unknown_containers() {
  auto result = call("GET", "/api/v1/nodes");
  if (!result) return 1;
  const auto& unknown = (*result)["unknown_containers"];
  if (unknown.empty()) {
    std::cout << "every session container is one the database knows\n";
    return 0;
  }
  std::cout << fmt::format("{:<16} {:<16} {:<12} {:<10} {:<12} {:<24} {}\n", "NODE", "SESSION",
                           "USER", "GPUS", "PORTS", "FIRST SEEN", "");
  for (const auto& entry : unknown) {
    auto numbers = [](const json& list) {
      std::string text;
      for (const auto& number : list) text += (text.empty() ? "" : ",") + number.dump();
      return text.empty() ? std::string("-") : text;
    };
    std::string gpus =
        entry["holdings_known"].get<bool>() ? numbers(entry["gpu_indices"]) : "all (unlabelled)";
    std::cout << fmt::format("{:<16} {:<16} {:<12} {:<10} {:<12} {:<24} {}\n",
                             entry["node"].get<std::string>(), entry["session"].get<std::string>(),
                             entry["user"].get<std::string>(), gpus, numbers(entry["host_ports"]),
                             entry["first_seen"].get<std::string>(),
                             entry["removal_requested"].get<bool>() ? "being removed" : "");
  }
  return 0;
}

int remove_unknown_container(const std::string& node, const std::string& session) {
  auto result = call("DELETE", "/api/v1/nodes/" + net::url_encode(node) + "/unknown-containers/" +
                                   net::url_encode(session));
  if (!result) return 1;
  std::cout << fmt::format("node {} removes the container of session {} at its next sync\n", node,
                           session);
  return 0;
}

int adopt_unknown_container(const std::string& node, const std::string& session) {
  auto result = call("POST", "/api/v1/nodes/" + net::url_encode(node) + "/unknown-containers/" +
                                 net::url_encode(session) + "/adopt");
  if (!result) return 1;
  std::cout << fmt::format(
      "session {} of {} is a session again (billed from when its Jupyter "
      "answers)\n",
      session, (*result)["user"].get<std::string>());
  return 0;
}

int list_quotas() {
  auto result = call("GET", "/api/v1/quotas");
  if (!result) return 1;
  std::cout << fmt::format("{:<6} {:<20} {:>5} {:>9} {:>14} {:>14}\n", "SCOPE", "NAME", "GPUS",
                           "SESSIONS", "SHARED GPU MEM", "SESSION HOURS");
  for (const auto& quota : (*result)["quotas"]) {
    std::cout << fmt::format("{:<6} {:<20} {:>5} {:>9} {:>14} {:>14}\n",
                             quota["scope"].get<std::string>(), quota["name"].get<std::string>(),
                             limit_text(quota["max_gpus"]), limit_text(quota["max_sessions"]),
                             limit_text(quota["max_gpu_memory_gb"], " GB"),
                             limit_text(quota["max_session_hours"]));
    for (const auto& [model, count] : quota["max_gpus_by_model"].items())
      std::cout << fmt::format("{:<6} {:<20} {:>5}  ({} GPUs)\n", "", "", count.dump(), model);
  }
  return 0;
}

}  // namespace gpupool::cli
