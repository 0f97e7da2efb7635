#include "cli/idle_commands.hpp"

#include <iostream>

#include <fmt/format.h>

#include "cli/client.hpp"
#include "core/duration.hpp"

namespace gpupool::cli {

using nlohmann::json;

namespace {

// Policies are kept in whole minutes.
Result<json> minutes_of(const std::string& option, const std::string& text) {
  if (text.empty()) return json(nullptr);
  auto millis = parse_duration(text);
  if (!millis)
    return make_error(ErrorCode::invalid_argument, option + ": " + millis.error().message);
  if (*millis % 60'000 != 0)
    return make_error(ErrorCode::invalid_argument, option + ": policies are in whole minutes");
  return json(*millis / 60'000);
}

Result<std::string> policy_path(const IdlePolicyOptions& options) {
  if (options.user.empty() == options.group.empty())
    return make_error(ErrorCode::invalid_argument, "name exactly one of --user and --group");
  return options.user.empty() ? "/api/v1/idle-policies/group/" + options.group
                              : "/api/v1/idle-policies/user/" + options.user;
}

std::string minutes_text(const json& value) {
  if (value.is_null()) return "default";
  auto minutes = value.get<std::int64_t>();
  if (minutes == 0) return "never";
  return minutes % 60 == 0 ? fmt::format("{}h", minutes / 60) : fmt::format("{}m", minutes);
}

}  // namespace

int keep(const std::string& id) {
  auto kept = call("POST", "/api/v1/sessions/" + id + "/keep", json::object());
  if (!kept) return 1;
  const json& idle = (*kept)["idle"];
  std::cout << fmt::format("{}: kept; {} more time(s) allowed\n", id,
                           idle.is_object() ? idle.value("keeps_left", 0) : 0);
  return 0;
}

int set_idle_policy(const IdlePolicyOptions& options) {
  auto path = policy_path(options);
  if (!path) return report(path.error());
  auto window = minutes_of("--window", options.window);
  if (!window) return report(window.error());
  auto grace = minutes_of("--grace", options.grace);
  if (!grace) return report(grace.error());
  json body = {{"window_minutes", *window}, {"grace_minutes", *grace}};
  if (options.keeps) body["keeps"] = *options.keeps;
  if (options.exempt) body["exempt"] = *options.exempt;
  auto result = call("PUT", *path, body);
  if (!result) return 1;
  std::cout << fmt::format(
      "idle policy of {} {}: window {}, grace {}\n", (*result)["scope"].get<std::string>(),
      (*result)["name"].get<std::string>(), minutes_text((*result)["window_minutes"]),
      minutes_text((*result)["grace_minutes"]));
  return 0;
}

int list_idle_policies() {
  auto result = call("GET", "/api/v1/idle-policies");
  if (!result) return 1;
  std::cout << fmt::format("{:<6} {:<20} {:>8} {:>8} {:>6} {:>7}\n", "SCOPE", "NAME", "WINDOW",
                           "GRACE", "KEEPS", "EXEMPT");
  for (const auto& rule : (*result)["idle_policies"]) {
    std::cout << fmt::format("{:<6} {:<20} {:>8} {:>8} {:>6} {:>7}\n",
                             rule["scope"].get<std::string>(), rule["name"].get<std::string>(),
                             minutes_text(rule["window_minutes"]),
                             minutes_text(rule["grace_minutes"]),
                             rule["keeps"].is_null() ? "default" : rule["keeps"].dump(),
                             rule["exempt"].is_null() ? "default" : rule["exempt"].dump());
  }
  return 0;
}

int remove_idle_policy(const IdlePolicyOptions& options) {
  auto path = policy_path(options);
  if (!path) return report(path.error());
  if (!call("DELETE", *path)) return 1;
  std::cout << "removed; the server's default applies\n";
  return 0;
}

int set_idle_exempt(const std::string& id, bool exempt) {
  if (!call("PUT", "/api/v1/sessions/" + id + "/idle", {{"exempt", exempt}})) return 1;
  std::cout << fmt::format("{}: {}\n", id,
                           exempt ? "exempt from idle reclaim" : "reclaimed when idle again");
  return 0;
}

}  // namespace gpupool::cli
