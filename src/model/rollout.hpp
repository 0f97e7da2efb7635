// A roll-out of session images: users ask for a family ("pytorch2.7-cuda11.8", or an alias
// such as "pytorch-latest") and get its stable image, or — for a share of new sessions, or
// for chosen groups — its canary, until the canary is promoted or halted. Plain data.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"

namespace gpupool {

enum class RolloutState {
  steady,   // only the stable image
  rolling,  // the canary takes its share of new sessions
  halted,   // the canary did worse (or an admin stopped it): new sessions get the stable one
};

std::string_view to_string(RolloutState state);
std::optional<RolloutState> parse_rollout_state(std::string_view text);

struct Rollout {
  std::string family;
  std::string stable_tag;
  std::string canary_tag = {};  // "" when there is none
  int canary_percent = 0;       // of new sessions, besides the groups' (0 to 100)
  std::vector<std::string> canary_groups = {};
  // Sessions the canary must have started well before it becomes the stable image on its
  // own; 0: an admin promotes it.
  int promote_after = 0;
  // It is halted once this many of its sessions failed to start and its share of failures
  // is above the stable image's, or once its median time to running is this many times the
  // stable image's (with three sessions of each, at least).
  int halt_failures = 2;
  double halt_slowdown = 3.0;
  RolloutState state = RolloutState::steady;
  std::string note = {};      // why it was halted, or what was promoted when
  UnixMillis started_at = 0;  // when the current canary began: its sessions are counted from then
  UnixMillis updated_at = 0;
};

}  // namespace gpupool
