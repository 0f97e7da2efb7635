// Admin endpoints of the REST API: users and groups (with their members), quotas for users
// and groups, nodes.
#include <fmt/format.h>

#include "api/api.hpp"
#include "core/json_input.hpp"
#include "gateway/replies.hpp"

namespace gpupool::api {

using nlohmann::json;

namespace {

json quota_view(const Quota& quota) {
  std::optional<double> memory_gb;
  if (quota.max_gpu_memory_mb) memory_gb = static_cast<double>(*quota.max_gpu_memory_mb) / 1024.0;
  return {{"scope", quota.scope == QuotaScope::user ? "user" : "group"},
          {"name", quota.subject_name},
          {"max_gpus", optional_json(quota.max_gpus)},
          {"max_sessions", optional_json(quota.max_sessions)},
          {"max_gpu_memory_gb", optional_json(memory_gb)},
          {"max_session_hours", optional_json(quota.max_session_hours)},
          {"max_gpus_by_model", quota.max_gpus_by_model}};
}

// "max_gpus_by_model": {"A100": 2, …}: at most 32 models, names 1–64 characters.
Result<std::map<std::string, int>> parse_gpus_by_model(const Json& body) {
  std::map<std::string, int> limits;
  auto it = body.find("max_gpus_by_model");
  if (it == body.end() || it->is_null()) return limits;
  auto invalid = make_error(ErrorCode::invalid_argument,
                            "\"max_gpus_by_model\" must be an object of up to 32 GPU models "
                            "(1–64 characters) with whole numbers of GPUs from 0 to 4096");
  if (!it->is_object() || it->size() > 32) return invalid;
  for (const auto& [model, limit] : it->items()) {
    if (model.empty() || model.size() > 64 || !limit.is_number_integer() ||
        limit.get<std::int64_t>() < 0 || limit.get<std::int64_t>() > 4096) {
      return invalid;
    }
    limits[model] = limit.get<int>();
  }
  return limits;
}

Result<Quota> parse_quota(const Json& body) {
  GPUPOOL_TRY(reject_unknown_fields(body, {"max_gpus", "max_sessions", "max_gpu_memory_gb",
                                           "max_session_hours", "max_gpus_by_model"}));
  Quota quota;
  auto gpus = optional_integer(body, "max_gpus", 0, 4096);
  if (!gpus) return gpus.error();
  if (*gpus) quota.max_gpus = static_cast<int>(**gpus);
  auto sessions = optional_integer(body, "max_sessions", 0, 10000);
  if (!sessions) return sessions.error();
  if (*sessions) quota.max_sessions = static_cast<int>(**sessions);
  auto memory = optional_number(body, "max_gpu_memory_gb", 0, 1'000'000);
  if (!memory) return memory.error();
  if (*memory) quota.max_gpu_memory_mb = static_cast<std::int64_t>(**memory * 1024);
  auto hours = optional_number(body, "max_session_hours", 0.01, 8760);
  if (!hours) return hours.error();
  quota.max_session_hours = *hours;
  auto by_model = parse_gpus_by_model(body);
  if (!by_model) return by_model.error();
  quota.max_gpus_by_model = std::move(*by_model);
  return quota;
}

}  // namespace

// GET /api/v1/users: everyone, by name, with their groups.
HttpReply Api::list_users(const Call&) {
  auto users = directory_.users();
  if (!users) return error_reply(users.error());
  auto groups = directory_.groups();
  if (!groups) return error_reply(groups.error());
  std::map<std::int64_t, json> groups_of;
  for (const auto& [group, members] : *groups) {
    for (auto id : members) groups_of[id].push_back(group.name);
  }
  json list = json::array();
  for (const auto& user : *users) {
    json view = user_view(user);
    view["groups"] = groups_of.contains(user.id) ? groups_of[user.id] : json::array();
    auto balance = sessions_.balance(user.id);
    if (!balance) return error_reply(balance.error());
    view["balance"] = credits(balance->available_micros());
    list.push_back(std::move(view));
  }
  return json_reply(200, {{"users", list}});
}

// GET /api/v1/groups: every group, by name, with its members' names.
HttpReply Api::list_groups(const Call&) {
  auto users = directory_.users();
  if (!users) return error_reply(users.error());
  auto groups = directory_.groups();
  if (!groups) return error_reply(groups.error());
  std::map<std::int64_t, std::string> names;
  for (const auto& user : *users) names[user.id] = user.username;
  json list = json::array();
  for (const auto& [group, members] : *groups) {
    json member_names = json::array();
    for (auto id : members) member_names.push_back(names[id]);
    list.push_back({{"id", group.id},
                    {"name", group.name},
                    {"members", member_names},
                    {"from_directory", group.from_directory}});
  }
  return json_reply(200, {{"groups", list}});
}

json Api::quotas_json(const std::vector<Quota>& quotas) {
  json list = json::array();
  for (const auto& quota : quotas) list.push_back(quota_view(quota));
  return list;
}

HttpReply Api::create_group(const Call& call) {
  const HttpExchange& exchange = call.exchange;
  auto body = parse_json_object(exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"name"});
  if (!known) return error_reply(known.error());
  auto name = required_string(*body, "name", 256);
  if (!name) return error_reply(name.error());
  auto group = directory_.create_group(*name);
  if (!group) return error_reply(group.error());
  return json_reply(201, {{"id", group->id}, {"name", group->name}, {"members", json::array()}});
}

HttpReply Api::set_group_members(const Call& call) {
  const HttpExchange& exchange = call.exchange;
  const std::string& group_name = call.parameter("group_name");
  auto body = parse_json_object(exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"users"});
  if (!known) return error_reply(known.error());
  auto names = required_string_array(*body, "users", 10000, 64);
  if (!names) return error_reply(names.error());
  auto members = directory_.set_group_members(group_name, *names);
  if (!members) return error_reply(members.error());
  return json_reply(200, {{"name", group_name}, {"members", *members}});
}

// PUT /api/v1/nodes/NAME {"drained": true|false}: a drained node takes no new sessions;
// its running sessions stay until they end.
HttpReply Api::update_node(const Call& call) {
  const HttpExchange& exchange = call.exchange;
  const std::string& node = call.parameter("node");
  auto body = parse_json_object(exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"drained"});
  if (!known) return error_reply(known.error());
  auto drained = optional_bool(*body, "drained");
  if (!drained) return error_reply(drained.error());
  if (!*drained) return error_reply(ErrorCode::invalid_argument, "\"drained\" is required");
  auto stored = directory_.set_node_drained(node, **drained);
  if (!stored) return error_reply(stored.error());
  auto rescheduled = sessions_.reschedule();
  if (!rescheduled) return error_reply(rescheduled.error());
  return json_reply(200, {{"name", node}, {"drained", **drained}});
}

HttpReply Api::list_quotas(const Call&) {
  auto quotas = directory_.quotas();
  if (!quotas) return error_reply(quotas.error());
  return json_reply(200, {{"quotas", quotas_json(*quotas)}});
}

HttpReply Api::set_quota(const Call& call) {
  const HttpExchange& exchange = call.exchange;
  const std::string& scope = call.parameter("scope");
  const std::string& name = call.parameter("name");
  auto body = parse_json_object(exchange.body);
  if (!body) return error_reply(body.error());
  auto quota = parse_quota(*body);
  if (!quota) return error_reply(quota.error());
  auto stored = directory_.set_quota(scope, name, std::move(*quota));
  if (!stored) return error_reply(stored.error());
  return json_reply(200, quota_view(*stored));
}

}  // namespace gpupool::api
