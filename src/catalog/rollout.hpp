// The rules of image roll-outs (model/rollout.hpp): which image a new session of a family
// gets, and whether a canary is doing measurably worse than the stable image or has earned
// promotion. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "model/rollout.hpp"

namespace gpupool::catalog {

// A family name: lower-case letters, digits, dots and dashes, 1 to 64; never a full semantic
// tag, so that a request names one or the other.
Status check_family_name(std::string_view name);

// Whether a new session of this user (in `groups`) gets the canary; `dice` is uniform in
// [0, 100).
bool gets_canary(const Rollout& rollout, const std::vector<std::string>& groups, int dice);

// How one image of a roll-out did since the canary began.
struct ArmRecord {
  int sessions = 0;                        // that got as far as running, or failed to
  int failed = 0;                          // ended before ever running
  std::vector<double> seconds_to_running;  // of those that ran, from placement
};

enum class RolloutAction { keep, halt, promote };

struct RolloutVerdict {
  RolloutAction action = RolloutAction::keep;
  std::string why;
};

RolloutVerdict judge_rollout(const Rollout& rollout, const ArmRecord& stable,
                             const ArmRecord& canary);

}  // namespace gpupool::catalog
