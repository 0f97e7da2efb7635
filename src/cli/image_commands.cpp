#include "cli/image_commands.hpp"

#include <iostream>

#include <fmt/format.h>

#include "cli/client.hpp"

namespace gpupool::cli {

using nlohmann::json;

namespace {

// Where the image runs: the GPU models of nodes whose driver carries its CUDA.
std::string runs_on(const json& image) {
  if (!image.value("runnable", false)) return "no node's driver";
  std::string models;
  for (const auto& model : image["gpu_models"])
    models += (models.empty() ? "" : ",") + model.get<std::string>();
  return models.empty() ? "CPU nodes" : models;
}

void print_image(const json& image) {
  std::cout << fmt::format("tag:        {}\n", image.value("tag", ""));
  std::cout << fmt::format("reference:  {}\n", image.value("reference", ""));
  std::cout << fmt::format("state:      {}{}\n", image.value("state", ""),
                           image.value("default", false) ? " (default)" : "");
  const json& check = image["check"];
  std::cout << fmt::format(
      "check:      {}{}\n", check.value("state", ""),
      check.value("message", "").empty() ? "" : ": " + check.value("message", ""));
  std::cout << fmt::format("ssh:        {}\n", image.value("ssh", true) ? "yes" : "no");
  std::cout << fmt::format("runs on:    {}\n", runs_on(image));
}

}  // namespace

int images() {
  auto result = call("GET", "/api/v1/images");
  if (!result) return 1;
  std::cout << fmt::format("{:<40} {:<10} {:<8} {:<10} {:<4} {:<20} {}\n", "TAG", "STATE", "CUDA",
                           "CHECK", "SSH", "RUNS ON", "DEFAULT");
  for (const auto& image : (*result)["images"]) {
    std::cout << fmt::format("{:<40} {:<10} {:<8} {:<10} {:<4} {:<20} {}\n", image.value("tag", ""),
                             image.value("state", ""), text_or_dash(image["cuda"]),
                             image["check"].value("state", ""),
                             image.value("ssh", true) ? "yes" : "no", runs_on(image),
                             image.value("default", false) ? "yes" : "");
  }
  return 0;
}

int add_image(const std::string& reference, const std::string& tag, bool prepull) {
  json body = {{"reference", reference}, {"prepull", prepull}};
  if (!tag.empty()) body["tag"] = tag;
  auto image = call("POST", "/api/v1/images", body);
  if (!image) return 1;
  print_image(*image);
  std::cout << "A node checks it now; `gpupool images` shows the outcome. It stays in testing "
               "(admins only) until: gpupool admin image-set "
            << image->value("tag", "") << " --state canary\n";
  return 0;
}

int set_image(const std::string& tag, const ImageSetOptions& options) {
  json body = json::object();
  if (options.state) body["state"] = *options.state;
  if (options.prepull) body["prepull"] = *options.prepull;
  if (options.make_default) body["default"] = true;
  if (body.empty())
    return report(make_error(ErrorCode::invalid_argument,
                             "say what to set: --state, --prepull or --default"));
  auto image = call("PATCH", "/api/v1/images/" + tag, body);
  if (!image) return 1;
  print_image(*image);
  return 0;
}

int check_image(const std::string& tag) {
  auto image = call("POST", "/api/v1/images/" + tag + "/check");
  if (!image) return 1;
  print_image(*image);
  return 0;
}

namespace {

void print_rollout(const json& rollout) {
  std::cout << fmt::format("family:     {}\n", rollout.value("family", ""));
  std::cout << fmt::format("stable:     {}\n", rollout.value("stable", ""));
  if (!rollout.contains("state")) return;
  std::string groups;
  for (const auto& group : rollout["groups"])
    groups += (groups.empty() ? "" : ",") + group.get<std::string>();
  std::cout << fmt::format("canary:     {} ({}%{})\n", text_or_dash(rollout["canary"]),
                           rollout.value("percent", 0), groups.empty() ? "" : ", groups " + groups);
  std::cout << fmt::format(
      "state:      {}{}\n", rollout.value("state", ""),
      rollout.value("note", "").empty() ? "" : ": " + rollout.value("note", ""));
  for (const char* arm : {"stable_record", "canary_record"}) {
    if (!rollout.contains(arm)) continue;
    const json& record = rollout[arm];
    std::cout << fmt::format("{:<11} {} sessions, {} failed to start\n",
                             std::string(arm).substr(0, std::string(arm).find('_')) + ":",
                             record.value("sessions", 0), record.value("failed", 0));
  }
}

}  // namespace

int list_rollouts() {
  auto result = call("GET", "/api/v1/image-rollouts");
  if (!result) return 1;
  for (const auto& rollout : (*result)["rollouts"]) {
    print_rollout(rollout);
    std::cout << "\n";
  }
  return 0;
}

int set_rollout(const std::string& family, const RolloutOptions& options) {
  json body = json::object();
  if (options.stable) body["stable"] = *options.stable;
  if (options.canary)
    body["canary"] = options.canary->empty() ? json(nullptr) : json(*options.canary);
  if (options.percent) body["percent"] = *options.percent;
  if (options.groups) body["groups"] = *options.groups;
  if (options.promote_after) body["promote_after"] = *options.promote_after;
  if (options.halt_failures) body["halt_failures"] = *options.halt_failures;
  if (options.halt_slowdown) body["halt_slowdown"] = *options.halt_slowdown;
  auto rollout = call("PUT", "/api/v1/image-rollouts/" + family, body);
  if (!rollout) return 1;
  print_rollout(*rollout);
  return 0;
}

int act_on_rollout(const std::string& family, const std::string& action) {
  auto rollout = call("POST", "/api/v1/image-rollouts/" + family + "/" + action);
  if (!rollout) return 1;
  print_rollout(*rollout);
  return 0;
}

}  // namespace gpupool::cli
