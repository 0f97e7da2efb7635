// The image catalog from the command line: `gpupool images` lists it (admins see every image
// with its check); `gpupool admin image-add|image-set|image-check` run it, and `gpupool admin
// rollout-ls|rollout-set|rollout-promote|rollout-halt` its families. Each returns the exit code.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gpupool::cli {

struct ImageSetOptions {
  std::optional<std::string> state;  // testing, canary, stable, deprecated, retired
  std::optional<bool> prepull;
  bool make_default = false;
};

struct RolloutOptions {
  std::optional<std::string> stable;
  std::optional<std::string> canary;  // "": none
  std::optional<int> percent;
  std::optional<std::vector<std::string>> groups;
  std::optional<int> promote_after;
  std::optional<int> halt_failures;
  std::optional<double> halt_slowdown;
};

int images();
int add_image(const std::string& reference, const std::string& tag, bool prepull);
int set_image(const std::string& tag, const ImageSetOptions& options);
int check_image(const std::string& tag);
int list_rollouts();
int set_rollout(const std::string& family, const RolloutOptions& options);
// `action`: "promote" or "halt".
int act_on_rollout(const std::string& family, const std::string& action);

}  // namespace gpupool::cli
