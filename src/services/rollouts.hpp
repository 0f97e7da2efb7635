// Rollouts: image roll-outs by family (model/rollout.hpp, catalog/rollout.hpp). Admins set a
// family's stable image and a canary with its share of new sessions or its groups; requests
// that name the family get one or the other (SessionService asks choose()); watch(), run
// every few seconds, compares the canary's sessions since it began with the stable image's
// and halts it when it does measurably worse, or promotes it after enough good starts. Each
// step it takes on its own is written to the audit log.
//
// Thread-safe as far as the store is.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "catalog/rollout.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "model/rollout.hpp"
#include "model/user.hpp"
#include "services/audit_log.hpp"
#include "store/store.hpp"

namespace gpupool::services {

// What an admin sets (PUT /api/v1/image-rollouts/{family}); unset fields keep their value.
struct RolloutChange {
  std::optional<std::string> stable_tag;
  std::optional<std::string> canary_tag;  // "": no canary
  std::optional<int> canary_percent;
  std::optional<std::vector<std::string>> canary_groups;
  std::optional<int> promote_after;
  std::optional<int> halt_failures;
  std::optional<double> halt_slowdown;
};

// A roll-out with how each of its images did since the canary began.
struct RolloutReport {
  Rollout rollout;
  catalog::ArmRecord stable;
  catalog::ArmRecord canary;
};

// The image a request for a family gets.
struct FamilyChoice {
  std::string tag;
  bool canary = false;
};

// Uniform in [0, 100): which new sessions the canary's percentage takes. A function, so that
// tests choose.
using PercentDice = std::function<int()>;

class Rollouts {
 public:
  // `audit`: where watch() records what it does; may be null for a Rollouts that only chooses.
  Rollouts(Store& store, const Clock& clock, AuditLog* audit, PercentDice dice = {});

  Result<Rollout> set(const std::string& family, const RolloutChange& change);
  Result<Rollout> promote(const std::string& family, const std::string& why);
  Result<Rollout> halt(const std::string& family, const std::string& why);
  Status remove(const std::string& family);
  Result<std::vector<RolloutReport>> reports();

  // nullopt when `family` names no roll-out (the request names an image, or nothing known).
  Result<std::optional<FamilyChoice>> choose(const std::string& family, const User& user);

  // Halts or promotes each rolling canary as its record says (catalog::judge_rollout).
  Status watch();

 private:
  Result<Rollout> find(const std::string& family);
  Result<RolloutReport> report(const Rollout& rollout, const std::vector<Session>& sessions);
  // Checks that `tag` can serve the family's new sessions as its `role` ("stable", "canary").
  Status check_member(const std::string& tag, std::string_view role);

  Store& store_;
  const Clock& clock_;
  AuditLog* audit_;
  PercentDice dice_;
};

}  // namespace gpupool::services
