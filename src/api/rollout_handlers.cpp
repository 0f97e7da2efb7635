// Image roll-outs by family (services/rollouts.hpp).
//   GET    /api/v1/image-rollouts                  users: each family and its stable image;
//                                                  admins: everything, with how each image did
//   PUT    /api/v1/image-rollouts/{family}         admins: {"stable", "canary", "percent",
//          "groups", "promote_after", "halt_failures", "halt_slowdown"}, each optional
//   POST   /api/v1/image-rollouts/{family}/promote admins: the canary becomes the stable image
//   POST   /api/v1/image-rollouts/{family}/halt    admins: new sessions get the stable image
//   DELETE /api/v1/image-rollouts/{family}         admins
#include "api/api.hpp"
#include "core/json_input.hpp"

namespace gpupool::api {

using nlohmann::json;

namespace {

// Each bound the handler checks fits an int.
std::optional<int> narrow(std::optional<std::int64_t> value) {
  if (!value) return std::nullopt;
  return static_cast<int>(*value);
}

json arm_view(const catalog::ArmRecord& arm) {
  return {{"sessions", arm.sessions},
          {"failed", arm.failed},
          {"seconds_to_running", arm.seconds_to_running}};
}

json rollout_view(const Rollout& rollout, bool admin) {
  json view = {{"family", rollout.family}, {"stable", rollout.stable_tag}};
  if (!admin) return view;
  view["canary"] = rollout.canary_tag.empty() ? json(nullptr) : json(rollout.canary_tag);
  view["percent"] = rollout.canary_percent;
  view["groups"] = rollout.canary_groups;
  view["promote_after"] = rollout.promote_after;
  view["halt_failures"] = rollout.halt_failures;
  view["halt_slowdown"] = rollout.halt_slowdown;
  view["state"] = to_string(rollout.state);
  view["note"] = rollout.note;
  view["started_at"] =
      rollout.started_at == 0 ? json(nullptr) : json(format_rfc3339(rollout.started_at));
  return view;
}

}  // namespace

HttpReply Api::list_rollouts(const Call& call) {
  bool admin = call.caller().user.admin;
  if (!admin) {
    // Users see each family and its stable image: no records to gather.
    auto rollouts = store_.list_rollouts();
    if (!rollouts) return error_reply(rollouts.error());
    json list = json::array();
    for (const auto& rollout : *rollouts) list.push_back(rollout_view(rollout, false));
    return json_reply(200, {{"rollouts", list}});
  }
  auto reports = rollouts_.reports();
  if (!reports) return error_reply(reports.error());
  json list = json::array();
  for (const auto& record : *reports) {
    json view = rollout_view(record.rollout, true);
    view["stable_record"] = arm_view(record.stable);
    view["canary_record"] = arm_view(record.canary);
    list.push_back(std::move(view));
  }
  return json_reply(200, {{"rollouts", list}});
}

HttpReply Api::put_rollout(const Call& call) {
  auto body = parse_json_object(call.exchange.body);
  if (!body) return error_reply(body.error());
  if (auto known =
          reject_unknown_fields(*body, {"stable", "canary", "percent", "groups", "promote_after",
                                        "halt_failures", "halt_slowdown"});
      !known)
    return error_reply(known.error());
  services::RolloutChange change;
  auto stable = optional_string(*body, "stable", 128);
  if (!stable) return error_reply(stable.error());
  change.stable_tag = *stable;
  auto canary = optional_string(*body, "canary", 128);
  if (!canary) return error_reply(canary.error());
  change.canary_tag = *canary;
  if (body->contains("canary") && (*body)["canary"].is_null()) change.canary_tag = "";
  auto percent = optional_integer(*body, "percent", 0, 100);
  if (!percent) return error_reply(percent.error());
  change.canary_percent = narrow(*percent);
  if (body->contains("groups")) {
    auto groups = required_string_array(*body, "groups", 100, 64);
    if (!groups) return error_reply(groups.error());
    change.canary_groups = *groups;
  }
  auto promote_after = optional_integer(*body, "promote_after", 0, 100000);
  if (!promote_after) return error_reply(promote_after.error());
  change.promote_after = narrow(*promote_after);
  auto halt_failures = optional_integer(*body, "halt_failures", 1, 100000);
  if (!halt_failures) return error_reply(halt_failures.error());
  change.halt_failures = narrow(*halt_failures);
  auto halt_slowdown = optional_number(*body, "halt_slowdown", 1, 1000);
  if (!halt_slowdown) return error_reply(halt_slowdown.error());
  change.halt_slowdown = *halt_slowdown;
  auto rollout = rollouts_.set(call.parameter("family"), change);
  if (!rollout) return error_reply(rollout.error());
  return json_reply(200, rollout_view(*rollout, true));
}

HttpReply Api::promote_rollout(const Call& call) {
  auto rollout =
      rollouts_.promote(call.parameter("family"), "promoted by " + call.caller().user.username);
  if (!rollout) return error_reply(rollout.error());
  return json_reply(200, rollout_view(*rollout, true));
}

HttpReply Api::halt_rollout(const Call& call) {
  auto rollout =
      rollouts_.halt(call.parameter("family"), "halted by " + call.caller().user.username);
  if (!rollout) return error_reply(rollout.error());
  return json_reply(200, rollout_view(*rollout, true));
}

HttpReply Api::delete_rollout(const Call& call) {
  if (auto removed = rollouts_.remove(call.parameter("family")); !removed)
    return error_reply(removed.error());
  return json_reply(200, {{"family", call.parameter("family")}, {"deleted", true}});
}

}  // namespace gpupool::api
