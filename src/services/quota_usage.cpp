#include "services/quota_usage.hpp"

#include <map>
#include <tuple>

#include <fmt/format.h>

#include "scheduler/quota_check.hpp"

namespace gpupool::services {

namespace {

std::string held_model(const Session& session, const std::vector<Node>& nodes) {
  if (session.gpu_indices.empty()) return session.request.gpu_model;
  for (const auto& node : nodes) {
    auto index = static_cast<std::size_t>(session.gpu_indices.front());
    if (node.name == session.node && index < node.gpus.size()) return node.gpus[index].model;
  }
  return session.request.gpu_model;
}

std::string holder(const Quota& quota) {
  return fmt::format("{} {}", quota.scope == QuotaScope::user ? "user" : "group",
                     quota.subject_name);
}

}  // namespace

Result<std::set<std::int64_t>> quota_subjects(Store& store, const Quota& quota) {
  if (quota.scope == QuotaScope::user) return std::set<std::int64_t>{quota.subject_id};
  auto members = store.group_member_ids(quota.subject_id);
  if (!members) return members.error();
  return std::set<std::int64_t>(members->begin(), members->end());
}

std::vector<SessionRequest> held_requests(const std::vector<Session>& active,
                                          const std::vector<Node>& nodes,
                                          const std::set<std::int64_t>& subjects,
                                          bool placed_only) {
  std::vector<SessionRequest> held;
  for (const auto& session : active) {
    if (!subjects.contains(session.user_id)) continue;
    bool placed = holds_resources(session.state);
    if (placed_only && !placed) continue;
    held.push_back(session.request);
    if (placed) held.back().gpu_model = held_model(session, nodes);
  }
  return held;
}

Status add_model_limits(Store& store, const std::vector<Session>& active,
                        const std::vector<std::int64_t>& pending_users,
                        scheduler::Snapshot& snapshot) {
  std::map<std::int64_t, std::vector<Quota>> quotas_by_user;
  std::map<std::tuple<QuotaScope, std::int64_t, std::string>, std::size_t> known;
  for (std::size_t i = 0; i < snapshot.pending.size(); ++i) {
    std::int64_t user = pending_users.at(i);
    if (!quotas_by_user.contains(user)) {
      auto quotas = store.quotas_for(user);
      if (!quotas) return quotas.error();
      quotas_by_user[user] = std::move(*quotas);
    }
    for (const auto& quota : quotas_by_user[user]) {
      for (const auto& [model, limit] : quota.max_gpus_by_model) {
        auto key = std::make_tuple(quota.scope, quota.subject_id, model);
        if (!known.contains(key)) {
          auto subjects = quota_subjects(store, quota);
          if (!subjects) return subjects.error();
          auto use = scheduler::use_of(held_requests(active, snapshot.nodes, *subjects, true));
          int used = use.gpus_by_model.contains(model) ? use.gpus_by_model.at(model) : 0;
          known[key] = snapshot.model_limits.size();
          snapshot.model_limits.push_back({holder(quota), model, limit, limit - used});
        }
        snapshot.pending[i].model_limits.push_back(known[key]);
      }
    }
  }
  return {};
}

}  // namespace gpupool::services
