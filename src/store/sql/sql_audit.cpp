// SqlStore: the audit log.
#include <fmt/format.h>

#include "store/sql/sql_store.hpp"

namespace gpupool {

using Lock = std::lock_guard<std::recursive_mutex>;
using sql::Statement;

Status SqlStore::append_audit(const AuditEntry& entry) {
  Lock lock(mutex_);
  auto insert = db_.prepare(
      "INSERT INTO audit_log (at, actor, source, action, target, outcome, detail) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!insert) return insert.error();
  insert->bind(1, entry.at)
      .bind(2, entry.actor)
      .bind(3, entry.source)
      .bind(4, entry.action)
      .bind(5, entry.target)
      .bind(6, std::int64_t{entry.outcome})
      .bind(7, entry.detail);
  return insert->run();
}

Result<std::vector<AuditEntry>> SqlStore::list_audit(const AuditFilter& filter) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      "SELECT id, at, actor, source, action, target, outcome, detail FROM audit_log "
      "WHERE (?1 = '' OR actor = ?1) AND (?2 = '' OR substr(action, 1, length(?2)) = ?2) "
      "AND at >= ?3 AND (?4 = 0 OR id < ?4) ORDER BY id DESC LIMIT ?5");
  if (!query) return query.error();
  query->bind(1, filter.actor)
      .bind(2, filter.action_prefix)
      .bind(3, filter.since)
      .bind(4, filter.before_id)
      .bind(5, std::int64_t{filter.limit});
  return query->collect<AuditEntry>([](const Statement& row) {
    return AuditEntry{row.column_int(0),
                      row.column_int(1),
                      row.column_text(2),
                      row.column_text(3),
                      row.column_text(4),
                      row.column_text(5),
                      static_cast<int>(row.column_int(6)),
                      row.column_text(7)};
  });
}

Result<std::int64_t> SqlStore::prune_audit(UnixMillis before) {
  Lock lock(mutex_);
  auto statement = db_.prepare("DELETE FROM audit_log WHERE at < ?1 RETURNING id");
  if (!statement) return statement.error();
  statement->bind(1, before);
  auto deleted =
      statement->collect<std::int64_t>([](const Statement& row) { return row.column_int(0); });
  if (!deleted) return deleted.error();
  return static_cast<std::int64_t>(deleted->size());
}

}  // namespace gpupool
