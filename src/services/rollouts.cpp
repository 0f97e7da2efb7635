#include "services/rollouts.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <sodium.h>

#include "core/log.hpp"

namespace gpupool::services {

namespace {

Error invalid(std::string message) {
  return make_error(ErrorCode::invalid_argument, std::move(message));
}

int uniform_percent() {
  return static_cast<int>(randombytes_uniform(100));
}

// Placement to running, from the session's recorded transitions; nullopt when it never ran.
std::optional<double> seconds_to_running(Store& store, const Session& session) {
  if (session.started_at == 0) return std::nullopt;
  auto events = store.session_events(session.id);
  if (!events) return std::nullopt;
  for (const auto& event : *events) {
    if (event.state == SessionState::starting || event.state == SessionState::scheduled)
      return static_cast<double>(session.started_at - event.at) / 1000;
  }
  return static_cast<double>(session.started_at - session.created_at) / 1000;
}

}  // namespace

Rollouts::Rollouts(Store& store, const Clock& clock, AuditLog* audit, PercentDice dice)
    : store_(store),
      clock_(clock),
      audit_(audit),
      dice_(dice ? std::move(dice) : uniform_percent) {}

Result<Rollout> Rollouts::find(const std::string& family) {
  auto rollouts = store_.list_rollouts();
  if (!rollouts) return rollouts.error();
  for (auto& rollout : *rollouts)
    if (rollout.family == family) return std::move(rollout);
  return make_error(ErrorCode::not_found,
                    fmt::format("no roll-out of family \"{}\"", family.substr(0, 64)));
}

Status Rollouts::check_member(const std::string& tag, std::string_view role) {
  auto images = store_.list_images();
  if (!images) return images.error();
  auto image = std::find_if(images->begin(), images->end(),
                            [&](const Image& candidate) { return candidate.tag == tag; });
  if (image == images->end())
    return invalid(fmt::format("the {} image \"{}\" is not in the catalog", role, tag));
  bool open = role == "stable"
                  ? image->state == ImageState::stable
                  : image->state == ImageState::canary || image->state == ImageState::stable;
  if (!open) {
    return invalid(fmt::format("the {} image \"{}\" is {}; it must be {}", role, tag,
                               to_string(image->state),
                               role == "stable" ? "stable" : "a canary (or stable)"));
  }
  if (image->check.state == CheckState::failed)
    return invalid(fmt::format("the {} image \"{}\" failed its contract check", role, tag));
  return {};
}

Result<Rollout> Rollouts::set(const std::string& family, const RolloutChange& change) {
  GPUPOOL_TRY(catalog::check_family_name(family));
  auto images = store_.list_images();
  if (!images) return images.error();
  Rollout rollout;
  if (auto existing = find(family)) {
    rollout = std::move(*existing);
  } else if (existing.error().code != ErrorCode::not_found) {
    return existing.error();
  } else {
    rollout.family = family;
    if (!change.stable_tag) return invalid("a new roll-out needs its \"stable\" image");
  }
  if (change.stable_tag) rollout.stable_tag = *change.stable_tag;
  GPUPOOL_TRY(check_member(rollout.stable_tag, "stable"));
  if (change.canary_percent) {
    if (*change.canary_percent < 0 || *change.canary_percent > 100)
      return invalid("\"percent\" must be 0 to 100");
    rollout.canary_percent = *change.canary_percent;
  }
  if (change.canary_groups) {
    auto groups = store_.list_groups();
    if (!groups) return groups.error();
    for (const auto& name : *change.canary_groups) {
      bool known = std::any_of(groups->begin(), groups->end(),
                               [&](const Group& group) { return group.name == name; });
      if (!known) return invalid(fmt::format("no group \"{}\"", name.substr(0, 64)));
    }
    rollout.canary_groups = *change.canary_groups;
  }
  if (change.promote_after) {
    if (*change.promote_after < 0 || *change.promote_after > 100000)
      return invalid("\"promote_after\" must be 0 (an admin promotes) to 100000 sessions");
    rollout.promote_after = *change.promote_after;
  }
  if (change.halt_failures) {
    if (*change.halt_failures < 1 || *change.halt_failures > 100000)
      return invalid("\"halt_failures\" must be 1 to 100000");
    rollout.halt_failures = *change.halt_failures;
  }
  if (change.halt_slowdown) {
    if (!(*change.halt_slowdown >= 1 && *change.halt_slowdown <= 1000))
      return invalid("\"halt_slowdown\" must be 1 to 1000 (times the stable image's)");
    rollout.halt_slowdown = *change.halt_slowdown;
  }
  UnixMillis now = clock_.now();
  if (change.canary_tag && *change.canary_tag != rollout.canary_tag) {
    rollout.canary_tag = *change.canary_tag;
    rollout.started_at = now;
    rollout.note.clear();
  }
  if (!rollout.canary_tag.empty()) {
    GPUPOOL_TRY(check_member(rollout.canary_tag, "canary"));
    if (rollout.canary_tag == rollout.stable_tag)
      return invalid("the canary must differ from the stable image");
    if (rollout.state == RolloutState::steady || change.canary_tag)
      rollout.state = RolloutState::rolling;
  } else {
    rollout.state = RolloutState::steady;
  }
  rollout.updated_at = now;
  GPUPOOL_TRY(store_.put_rollout(rollout));
  return rollout;
}

Result<Rollout> Rollouts::promote(const std::string& family, const std::string& why) {
  auto rollout = find(family);
  if (!rollout) return rollout.error();
  if (rollout->canary_tag.empty())
    return invalid(fmt::format("family \"{}\" has no canary to promote", family));
  rollout->stable_tag = rollout->canary_tag;
  rollout->canary_tag.clear();
  rollout->state = RolloutState::steady;
  rollout->note = why;
  rollout->updated_at = clock_.now();
  GPUPOOL_TRY(store_.put_rollout(*rollout));
  return rollout;
}

Result<Rollout> Rollouts::halt(const std::string& family, const std::string& why) {
  auto rollout = find(family);
  if (!rollout) return rollout.error();
  if (rollout->state != RolloutState::rolling)
    return make_error(ErrorCode::conflict, fmt::format("family \"{}\" is not rolling out", family));
  rollout->state = RolloutState::halted;
  rollout->note = why;
  rollout->updated_at = clock_.now();
  GPUPOOL_TRY(store_.put_rollout(*rollout));
  return rollout;
}

Status Rollouts::remove(const std::string& family) {
  return store_.delete_rollout(family);
}

Result<std::optional<FamilyChoice>> Rollouts::choose(const std::string& family, const User& user) {
  auto rollouts = store_.list_rollouts();
  if (!rollouts) return rollouts.error();
  auto rollout = std::find_if(rollouts->begin(), rollouts->end(),
                              [&](const Rollout& candidate) { return candidate.family == family; });
  if (rollout == rollouts->end()) return std::optional<FamilyChoice>{};
  std::vector<std::string> group_names;
  if (!rollout->canary_groups.empty()) {
    auto groups = store_.groups_of(user.id);
    if (!groups) return groups.error();
    for (const auto& group : *groups) group_names.push_back(group.name);
  }
  if (catalog::gets_canary(*rollout, group_names, dice_()))
    return std::optional<FamilyChoice>{FamilyChoice{rollout->canary_tag, true}};
  return std::optional<FamilyChoice>{FamilyChoice{rollout->stable_tag, false}};
}

Result<RolloutReport> Rollouts::report(const Rollout& rollout,
                                       const std::vector<Session>& sessions) {
  RolloutReport record{rollout, {}, {}};
  for (const auto& session : sessions) {
    if (session.image_family != rollout.family || session.created_at < rollout.started_at) continue;
    bool canary = session.request.image_tag == rollout.canary_tag;
    if (!canary && session.request.image_tag != rollout.stable_tag) continue;
    catalog::ArmRecord& arm = canary ? record.canary : record.stable;
    bool never_ran = session.state == SessionState::ended && session.started_at == 0 &&
                     session.end_reason == EndReason::failed;
    if (never_ran) {
      ++arm.sessions;
      ++arm.failed;
    } else if (auto seconds = seconds_to_running(store_, session)) {
      ++arm.sessions;
      arm.seconds_to_running.push_back(*seconds);
    }
  }
  return record;
}

Result<std::vector<RolloutReport>> Rollouts::reports() {
  auto rollouts = store_.list_rollouts();
  if (!rollouts) return rollouts.error();
  std::vector<RolloutReport> reports;
  // Only canaries have records to keep: the sessions since the oldest of them began (not all
  // history, which a family that never had a canary would otherwise ask for).
  std::optional<UnixMillis> since;
  for (const auto& rollout : *rollouts) {
    if (!rollout.canary_tag.empty())
      since = std::min(since.value_or(rollout.started_at), rollout.started_at);
  }
  std::vector<Session> sessions;
  if (since) {
    auto recent = store_.list_sessions({std::nullopt, std::nullopt, false, *since});
    if (!recent) return recent.error();
    sessions = std::move(*recent);
  }
  for (const auto& rollout : *rollouts) {
    auto record = report(rollout, sessions);
    if (!record) return record.error();
    reports.push_back(std::move(*record));
  }
  return reports;
}

Status Rollouts::watch() {
  if (!store_.leads()) return {};  // the leading server watches (leader_lease.hpp)
  auto rollouts = store_.list_rollouts();
  if (!rollouts) return rollouts.error();
  bool rolling = std::any_of(rollouts->begin(), rollouts->end(), [](const Rollout& rollout) {
    return rollout.state == RolloutState::rolling;
  });
  if (!rolling) return {};
  auto all = reports();
  if (!all) return all.error();
  for (const auto& record : *all) {
    auto verdict = catalog::judge_rollout(record.rollout, record.stable, record.canary);
    if (verdict.action == catalog::RolloutAction::keep) continue;
    bool halting = verdict.action == catalog::RolloutAction::halt;
    auto changed = halting ? halt(record.rollout.family, verdict.why)
                           : promote(record.rollout.family, verdict.why);
    if (!changed) return changed.error();
    spdlog::warn("roll-out of {}: {}: {}", record.rollout.family, halting ? "halted" : "promoted",
                 verdict.why);
    if (audit_ != nullptr)
      audit_->record({0, 0, "gpupool", "", halting ? "rollout halted" : "rollout promoted",
                      "family=" + record.rollout.family, 200, verdict.why});
  }
  return {};
}

}  // namespace gpupool::services
