// SqlStore: idle policies of users and groups (model/idle.hpp), and what idle reclaim
// gave back.
#include <fmt/format.h>

#include "store/sql/sql_store.hpp"

namespace gpupool {

using Lock = std::lock_guard<std::recursive_mutex>;
using sql::Statement;

namespace {

constexpr const char* kIdlePolicyRows =
    "SELECT idle_policies.scope, idle_policies.subject_id, COALESCE(users.username, groups.name, "
    "''), window_minutes, grace_minutes, keeps, exempt FROM idle_policies "
    "LEFT JOIN users ON idle_policies.scope = 'user' AND users.id = idle_policies.subject_id "
    "LEFT JOIN groups ON idle_policies.scope = 'group' AND groups.id = idle_policies.subject_id";

const char* scope_text(QuotaScope scope) {
  return scope == QuotaScope::user ? "user" : "group";
}

IdlePolicyRule read_rule(const Statement& row) {
  IdlePolicyRule rule;
  rule.scope = row.column_text(0) == "group" ? QuotaScope::group : QuotaScope::user;
  rule.subject_id = row.column_int(1);
  rule.subject_name = row.column_text(2);
  if (!row.column_is_null(3)) rule.window_minutes = row.column_int(3);
  if (!row.column_is_null(4)) rule.grace_minutes = row.column_int(4);
  if (!row.column_is_null(5)) rule.keeps = static_cast<int>(row.column_int(5));
  if (!row.column_is_null(6)) rule.exempt = row.column_int(6) != 0;
  return rule;
}

}  // namespace

Status SqlStore::set_idle_policy(const IdlePolicyRule& rule) {
  Lock lock(mutex_);
  auto statement = db_.prepare(
      "INSERT INTO idle_policies (scope, subject_id, window_minutes, grace_minutes, keeps, exempt) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (scope, subject_id) DO UPDATE SET "
      "window_minutes = excluded.window_minutes, grace_minutes = excluded.grace_minutes, "
      "keeps = excluded.keeps, exempt = excluded.exempt");
  if (!statement) return statement.error();
  statement->bind(1, scope_text(rule.scope)).bind(2, rule.subject_id);
  if (rule.window_minutes) statement->bind(3, *rule.window_minutes);
  if (rule.grace_minutes) statement->bind(4, *rule.grace_minutes);
  if (rule.keeps) statement->bind(5, *rule.keeps);
  if (rule.exempt) statement->bind(6, *rule.exempt);
  return statement->run();
}

Result<bool> SqlStore::delete_idle_policy(QuotaScope scope, std::int64_t subject_id) {
  Lock lock(mutex_);
  auto remove = db_.prepare("DELETE FROM idle_policies WHERE scope = ?1 AND subject_id = ?2");
  if (!remove) return remove.error();
  remove->bind(1, scope_text(scope)).bind(2, subject_id);
  GPUPOOL_TRY(remove->run());
  return db_.changes() > 0;
}

Result<std::vector<IdlePolicyRule>> SqlStore::idle_policies_for(std::int64_t user_id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(fmt::format(
      "{} WHERE (idle_policies.scope = 'user' AND idle_policies.subject_id = ?1) OR "
      "(idle_policies.scope = 'group' AND idle_policies.subject_id IN (SELECT group_id FROM "
      "group_members WHERE user_id = ?1)) ORDER BY 1 DESC, 3",
      kIdlePolicyRows));
  if (!query) return query.error();
  query->bind(1, user_id);
  return query->collect<IdlePolicyRule>(read_rule);
}

Result<std::vector<IdlePolicyRule>> SqlStore::list_idle_policies() {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(fmt::format("{} ORDER BY 1 DESC, 3", kIdlePolicyRows));
  if (!query) return query.error();
  return query->collect<IdlePolicyRule>(read_rule);
}

Result<std::vector<Store::ReclaimedTotal>> SqlStore::idle_reclaimed_totals() {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      "SELECT billed_gpu_model, COUNT(*), coalesce(sum(billed_gpus), 0.0) FROM sessions "
      "WHERE state = 'ended' AND end_reason = 'idle_reclaimed' GROUP BY 1 ORDER BY 1");
  if (!query) return query.error();
  return query->collect<ReclaimedTotal>([](const Statement& row) {
    return ReclaimedTotal{row.column_text(0), row.column_int(1), row.column_double(2)};
  });
}

}  // namespace gpupool
