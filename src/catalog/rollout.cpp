#include "catalog/rollout.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "catalog/image_tag.hpp"

namespace gpupool::catalog {

namespace {

constexpr int kFewestForTiming = 3;  // sessions of each image before their times are compared

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  std::size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

double failure_share(const ArmRecord& arm) {
  return arm.sessions == 0 ? 0 : static_cast<double>(arm.failed) / arm.sessions;
}

}  // namespace

Status check_family_name(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("family \"{}\" is not valid: {}", name.substr(0, 64), why));
  };
  if (name.empty() || name.size() > 64) return bad("must be 1 to 64 characters");
  for (char c : name) {
    bool plain = std::islower(static_cast<unsigned char>(c)) != 0 ||
                 std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-';
    if (!plain) return bad("lower-case letters, digits, dots and dashes only");
  }
  if (!std::islower(static_cast<unsigned char>(name.front())))
    return bad("must start with a letter");
  if (parse_image_tag(name).ok())
    return bad("it is a full image tag; a family names a framework line, e.g. pytorch2.7-cuda11.8");
  return {};
}

bool gets_canary(const Rollout& rollout, const std::vector<std::string>& groups, int dice) {
  if (rollout.state != RolloutState::rolling || rollout.canary_tag.empty()) return false;
  for (const auto& group : groups) {
    if (std::find(rollout.canary_groups.begin(), rollout.canary_groups.end(), group) !=
        rollout.canary_groups.end())
      return true;
  }
  return dice < rollout.canary_percent;
}

RolloutVerdict judge_rollout(const Rollout& rollout, const ArmRecord& stable,
                             const ArmRecord& canary) {
  if (rollout.state != RolloutState::rolling) return {};
  if (canary.failed >= rollout.halt_failures && failure_share(canary) > failure_share(stable)) {
    return {RolloutAction::halt,
            fmt::format("{} failed to start {} of {} sessions; {} failed {} of {}",
                        rollout.canary_tag, canary.failed, canary.sessions, rollout.stable_tag,
                        stable.failed, stable.sessions)};
  }
  if (static_cast<int>(canary.seconds_to_running.size()) >= kFewestForTiming &&
      static_cast<int>(stable.seconds_to_running.size()) >= kFewestForTiming) {
    double slow = median(canary.seconds_to_running);
    double usual = median(stable.seconds_to_running);
    if (slow > rollout.halt_slowdown * std::max(usual, 1.0)) {
      return {RolloutAction::halt,
              fmt::format("{} took {:.0f} s to running (median), {:.1f} times {}'s {:.0f} s",
                          rollout.canary_tag, slow, slow / std::max(usual, 1.0), rollout.stable_tag,
                          usual)};
    }
  }
  int good = canary.sessions - canary.failed;
  if (rollout.promote_after > 0 && good >= rollout.promote_after) {
    return {RolloutAction::promote,
            fmt::format("{} started {} sessions well ({} failed): it is the stable image now",
                        rollout.canary_tag, good, canary.failed)};
  }
  return {};
}

}  // namespace gpupool::catalog
