// SqlStore: join tokens and node credentials.
#include <fmt/format.h>

#include "store/sql/sql_store.hpp"

namespace gpupool {

using Lock = std::lock_guard<std::recursive_mutex>;
using sql::Statement;

namespace {

constexpr const char* kJoinTokenColumns =
    "id, secret_digest, description, created_by, created_at, expires_at, uses_left, used, "
    "revoked_at";

JoinToken read_join_token(const Statement& row) {
  return JoinToken{row.column_text(0),
                   row.column_text(1),
                   row.column_text(2),
                   row.column_text(3),
                   row.column_int(4),
                   row.column_int(5),
                   static_cast<int>(row.column_int(6)),
                   static_cast<int>(row.column_int(7)),
                   row.column_int(8)};
}

}  // namespace

Status SqlStore::add_join_token(const JoinToken& token) {
  Lock lock(mutex_);
  auto insert =
      db_.prepare(fmt::format("INSERT INTO join_tokens ({}) VALUES (?1, ?2, ?3, ?4, ?5, "
                              "?6, ?7, ?8, ?9)",
                              kJoinTokenColumns));
  if (!insert) return insert.error();
  insert->bind(1, token.id)
      .bind(2, token.secret_digest)
      .bind(3, token.description)
      .bind(4, token.created_by)
      .bind(5, token.created_at)
      .bind(6, token.expires_at)
      .bind(7, std::int64_t{token.uses_left})
      .bind(8, std::int64_t{token.used})
      .bind(9, token.revoked_at);
  return insert->run();
}

Result<std::vector<JoinToken>> SqlStore::list_join_tokens() {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      fmt::format("SELECT {} FROM join_tokens ORDER BY created_at DESC, id", kJoinTokenColumns));
  if (!query) return query.error();
  return query->collect<JoinToken>(read_join_token);
}

Result<std::optional<JoinToken>> SqlStore::take_join_token(const std::string& id,
                                                           const std::string& secret_digest,
                                                           UnixMillis now) {
  std::optional<JoinToken> taken;
  auto done = in_transaction([&]() -> Status {
    auto query = db_.prepare(fmt::format(
        "SELECT {} FROM join_tokens WHERE id = ?1 AND secret_digest = ?3 AND revoked_at = 0 AND "
        "expires_at > ?2 AND uses_left != 0",
        kJoinTokenColumns));
    if (!query) return query.error();
    query->bind(1, id).bind(2, now).bind(3, secret_digest);
    auto row = query->step();
    if (!row) return row.error();
    if (!*row) return {};
    taken = read_join_token(*query);
    auto update = db_.prepare(
        "UPDATE join_tokens SET used = used + 1, "
        "uses_left = CASE WHEN uses_left > 0 THEN uses_left - 1 ELSE uses_left END WHERE id = ?1");
    if (!update) return update.error();
    update->bind(1, id);
    return update->run();
  });
  if (!done) return done.error();
  return taken;
}

Status SqlStore::revoke_join_token(const std::string& id, UnixMillis now) {
  Lock lock(mutex_);
  auto update =
      db_.prepare("UPDATE join_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at = 0");
  if (!update) return update.error();
  update->bind(1, id).bind(2, now);
  GPUPOOL_TRY(update->run());
  if (db_.changes() == 0) return make_error(ErrorCode::not_found, "no live join token " + id);
  return {};
}

Status SqlStore::add_node_credential(const NodeCredential& credential) {
  Lock lock(mutex_);
  auto insert = db_.prepare(
      "INSERT INTO node_credentials (secret_digest, node, join_token, created_at, revoked_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!insert) return insert.error();
  insert->bind(1, credential.secret_digest)
      .bind(2, credential.node)
      .bind(3, credential.join_token)
      .bind(4, credential.created_at)
      .bind(5, credential.revoked_at);
  return insert->run();
}

Result<std::optional<NodeCredential>> SqlStore::find_node_credential(
    const std::string& secret_digest) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      "SELECT secret_digest, node, join_token, created_at, revoked_at FROM node_credentials "
      "WHERE secret_digest = ?1 AND revoked_at = 0");
  if (!query) return query.error();
  query->bind(1, secret_digest);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<NodeCredential>{};
  return std::optional<NodeCredential>{NodeCredential{query->column_text(0), query->column_text(1),
                                                      query->column_text(2), query->column_int(3),
                                                      query->column_int(4)}};
}

Result<bool> SqlStore::node_has_credential(const std::string& node) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query =
      db.prepare("SELECT 1 FROM node_credentials WHERE node = ?1 AND revoked_at = 0 LIMIT 1");
  if (!query) return query.error();
  query->bind(1, node);
  auto row = query->step();
  if (!row) return row.error();
  return *row;
}

Result<int> SqlStore::revoke_node_credentials(const std::string& node, UnixMillis now) {
  Lock lock(mutex_);
  auto update =
      db_.prepare("UPDATE node_credentials SET revoked_at = ?2 WHERE node = ?1 AND revoked_at = 0");
  if (!update) return update.error();
  update->bind(1, node).bind(2, now);
  GPUPOOL_TRY(update->run());
  return db_.changes();
}

}  // namespace gpupool
