// Admin endpoints of the REST API: users and groups (with their members), quotas for users
// and groups, nodes.
#include <fmt/format.h>

#include "api/api.hpp"
#include "auth/names.hpp"
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

struct GroupMembers {
  Group group;
  std::vector<std::int64_t> member_ids;
};

Result<std::vector<GroupMembers>> groups_with_members(Store& store) {
  auto groups = store.list_groups();
  if (!groups) return groups.error();
  std::vector<GroupMembers> all;
  for (auto& group : *groups) {
    auto members = store.group_member_ids(group.id);
    if (!members) return members.error();
    all.push_back({std::move(group), std::move(*members)});
  }
  return all;
}

}  // namespace

// GET /api/v1/users: everyone, by name, with their groups.
HttpReply Api::list_users() {
  auto users = store_.list_users();
  if (!users) return error_reply(users.error());
  auto groups = groups_with_members(store_);
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
HttpReply Api::list_groups() {
  auto users = store_.list_users();
  if (!users) return error_reply(users.error());
  auto groups = groups_with_members(store_);
  if (!groups) return error_reply(groups.error());
  std::map<std::int64_t, std::string> names;
  for (const auto& user : *users) names[user.id] = user.username;
  json list = json::array();
  for (const auto& [group, members] : *groups) {
    json member_names = json::array();
    for (auto id : members) member_names.push_back(names[id]);
    list.push_back({{"id", group.id}, {"name", group.name}, {"members", member_names}});
  }
  return json_reply(200, {{"groups", list}});
}

json Api::quotas_json(const std::vector<Quota>& quotas) {
  json list = json::array();
  for (const auto& quota : quotas) list.push_back(quota_view(quota));
  return list;
}

HttpReply Api::create_group(const HttpExchange& exchange) {
  auto body = parse_json_object(exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"name"});
  if (!known) return error_reply(known.error());
  auto raw_name = required_string(*body, "name", 256);
  if (!raw_name) return error_reply(raw_name.error());
  // Group names follow the user-name rules: they appear in messages and, later, in paths.
  auto name = auth::canonical_username(*raw_name);
  if (!name) return error_reply(ErrorCode::invalid_argument, "group " + name.error().message);
  auto group = store_.create_group(*name, clock_.now());
  if (!group) return error_reply(group.error());
  return json_reply(201, {{"id", group->id}, {"name", group->name}, {"members", json::array()}});
}

HttpReply Api::set_group_members(const HttpExchange& exchange, const std::string& group_name) {
  auto group = store_.find_group(group_name);
  if (!group) return error_reply(group.error());
  if (!group->has_value()) return error_reply(ErrorCode::not_found, "no such group");
  auto body = parse_json_object(exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"users"});
  if (!known) return error_reply(known.error());
  auto names = required_string_array(*body, "users", 10000, 64);
  if (!names) return error_reply(names.error());
  std::vector<std::int64_t> ids;
  json members = json::array();
  for (const auto& raw : *names) {
    auto name = auth::canonical_username(raw);
    auto user =
        name ? store_.find_user_by_name(*name) : Result<std::optional<StoredUser>>(name.error());
    if (!user) return error_reply(user.error());
    if (!user->has_value())
      return error_reply(ErrorCode::invalid_argument, fmt::format("no user \"{}\"", *name));
    ids.push_back((*user)->user.id);
    members.push_back((*user)->user.username);
  }
  auto stored = store_.set_group_members((*group)->id, ids);
  if (!stored) return error_reply(stored.error());
  return json_reply(200, {{"name", (*group)->name}, {"members", members}});
}

// PUT /api/v1/nodes/NAME {"drained": true|false}: a drained node takes no new sessions;
// its running sessions stay until they end.
HttpReply Api::update_node(const HttpExchange& exchange, const std::string& node) {
  auto body = parse_json_object(exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"drained"});
  if (!known) return error_reply(known.error());
  auto drained = optional_bool(*body, "drained");
  if (!drained) return error_reply(drained.error());
  if (!*drained) return error_reply(ErrorCode::invalid_argument, "\"drained\" is required");
  auto stored = store_.set_node_drained(node, **drained);
  if (!stored) return error_reply(stored.error());
  auto rescheduled = sessions_.reschedule();
  if (!rescheduled) return error_reply(rescheduled.error());
  return json_reply(200, {{"name", node}, {"drained", **drained}});
}

HttpReply Api::list_quotas() {
  auto quotas = store_.list_quotas();
  if (!quotas) return error_reply(quotas.error());
  return json_reply(200, {{"quotas", quotas_json(*quotas)}});
}

HttpReply Api::set_quota(const HttpExchange& exchange, const std::string& scope,
                         const std::string& name) {
  auto body = parse_json_object(exchange.body);
  if (!body) return error_reply(body.error());
  auto quota = parse_quota(*body);
  if (!quota) return error_reply(quota.error());
  if (scope == "user") {
    auto user = store_.find_user_by_name(name);
    if (!user) return error_reply(user.error());
    if (!user->has_value()) return error_reply(ErrorCode::not_found, "no such user");
    quota->scope = QuotaScope::user;
    quota->subject_id = (*user)->user.id;
  } else if (scope == "group") {
    auto group = store_.find_group(name);
    if (!group) return error_reply(group.error());
    if (!group->has_value()) return error_reply(ErrorCode::not_found, "no such group");
    quota->scope = QuotaScope::group;
    quota->subject_id = (*group)->id;
  } else {
    return error_reply(ErrorCode::not_found,
                       "quotas are set on /api/v1/quotas/user/NAME or /group/NAME");
  }
  quota->subject_name = name;
  auto stored = store_.set_quota(*quota);
  if (!stored) return error_reply(stored.error());
  return json_reply(200, quota_view(*quota));
}

}  // namespace gpupool::api
