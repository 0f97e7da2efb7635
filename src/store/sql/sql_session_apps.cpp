// SqlStore: the web apps sessions serve through the gateway.
#include "store/sql/sql_store.hpp"

namespace gpupool {

using Lock = std::lock_guard<std::recursive_mutex>;
using sql::Statement;

Status SqlStore::put_session_app(const SessionApp& app) {
  Lock lock(mutex_);
  auto insert = db_.prepare(
      "INSERT INTO session_apps (session_id, port, keep_path, shared_users, shared_groups, "
      "link_digest, link_expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
      "ON CONFLICT (session_id, port) DO UPDATE SET keep_path = excluded.keep_path, "
      "shared_users = excluded.shared_users, shared_groups = excluded.shared_groups, "
      "link_digest = excluded.link_digest, link_expires_at = excluded.link_expires_at");
  if (!insert) return insert.error();
  insert->bind(1, app.session_id)
      .bind(2, app.port)
      .bind(3, app.keep_path)
      .bind(4, names_to_json(app.shared_users))
      .bind(5, names_to_json(app.shared_groups))
      .bind(6, app.link_digest)
      .bind(7, app.link_expires_at)
      .bind(8, app.created_at);
  return insert->run();
}

Result<bool> SqlStore::remove_session_app(const std::string& session_id, int port) {
  Lock lock(mutex_);
  auto remove = db_.prepare("DELETE FROM session_apps WHERE session_id = ?1 AND port = ?2");
  if (!remove) return remove.error();
  remove->bind(1, session_id).bind(2, port);
  GPUPOOL_TRY(remove->run());
  return db_.changes() > 0;
}

Result<std::vector<SessionApp>> SqlStore::session_apps(const std::string& session_id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      "SELECT session_id, port, keep_path, shared_users, shared_groups, link_digest, "
      "link_expires_at, created_at FROM session_apps WHERE session_id = ?1 ORDER BY port");
  if (!query) return query.error();
  query->bind(1, session_id);
  return query->collect<SessionApp>([](const Statement& row) {
    return SessionApp{row.column_text(0),
                      static_cast<int>(row.column_int(1)),
                      row.column_int(2) != 0,
                      names_from_json(row.column_text(3)),
                      names_from_json(row.column_text(4)),
                      row.column_text(5),
                      row.column_int(6),
                      row.column_int(7)};
  });
}

}  // namespace gpupool
