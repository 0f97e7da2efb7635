// SqlStore: image roll-outs.

#include "store/sql/sql_store.hpp"

namespace gpupool {

using Lock = std::lock_guard<std::recursive_mutex>;

Status SqlStore::put_rollout(const Rollout& rollout) {
  Lock lock(mutex_);
  auto statement = db_.prepare(
      "INSERT INTO image_rollouts (family, stable_tag, canary_tag, canary_percent, "
      "canary_groups, promote_after, halt_failures, halt_slowdown, state, note, started_at, "
      "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT "
      "(family) DO UPDATE SET stable_tag = excluded.stable_tag, canary_tag = excluded.canary_tag, "
      "canary_percent = excluded.canary_percent, canary_groups = excluded.canary_groups, "
      "promote_after = excluded.promote_after, halt_failures = excluded.halt_failures, "
      "halt_slowdown = excluded.halt_slowdown, state = excluded.state, note = excluded.note, "
      "started_at = excluded.started_at, updated_at = excluded.updated_at");
  if (!statement) return statement.error();
  statement->bind(1, rollout.family)
      .bind(2, rollout.stable_tag)
      .bind(3, rollout.canary_tag)
      .bind(4, rollout.canary_percent)
      .bind(5, names_to_json(rollout.canary_groups))
      .bind(6, rollout.promote_after)
      .bind(7, rollout.halt_failures)
      .bind(8, rollout.halt_slowdown)
      .bind(9, std::string(to_string(rollout.state)))
      .bind(10, rollout.note)
      .bind(11, rollout.started_at)
      .bind(12, rollout.updated_at);
  return statement->run();
}

Result<std::vector<Rollout>> SqlStore::list_rollouts() {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      "SELECT family, stable_tag, canary_tag, canary_percent, canary_groups, promote_after, "
      "halt_failures, halt_slowdown, state, note, started_at, updated_at FROM image_rollouts "
      "ORDER BY family");
  if (!query) return query.error();
  return query->collect<Rollout>([](const sql::Statement& row) {
    Rollout rollout;
    rollout.family = row.column_text(0);
    rollout.stable_tag = row.column_text(1);
    rollout.canary_tag = row.column_text(2);
    rollout.canary_percent = static_cast<int>(row.column_int(3));
    rollout.canary_groups = names_from_json(row.column_text(4));
    rollout.promote_after = static_cast<int>(row.column_int(5));
    rollout.halt_failures = static_cast<int>(row.column_int(6));
    rollout.halt_slowdown = row.column_double(7);
    rollout.state = parse_rollout_state(row.column_text(8)).value_or(RolloutState::halted);
    rollout.note = row.column_text(9);
    rollout.started_at = row.column_int(10);
    rollout.updated_at = row.column_int(11);
    return rollout;
  });
}

Status SqlStore::delete_rollout(const std::string& family) {
  Lock lock(mutex_);
  auto statement = db_.prepare("DELETE FROM image_rollouts WHERE family = ?1");
  if (!statement) return statement.error();
  statement->bind(1, family);
  GPUPOOL_TRY(statement->run());
  if (db_.changes() == 0)
    return make_error(ErrorCode::not_found, "no roll-out of family \"" + family + "\"");
  return {};
}

}  // namespace gpupool
