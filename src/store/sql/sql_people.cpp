// SqlStore: users, credentials, groups, quotas and SSH keys.
#include <nlohmann/json.hpp>

#include <algorithm>

#include <fmt/format.h>

#include "store/sql/sql_store.hpp"

namespace gpupool {

using Lock = std::lock_guard<std::recursive_mutex>;
using sql::Statement;

namespace {

// The columns read_user reads, in its order.
constexpr const char* kUserColumns =
    "id, username, admin, uid, created_at, disabled, source, external_id, gid, "
    "uid_from_directory";
constexpr int kUserColumnCount = 10;

User read_user(const Statement& row) {
  return User{row.column_int(0),
              row.column_text(1),
              row.column_int(2) != 0,
              static_cast<int>(row.column_int(3)),
              row.column_int(4),
              row.column_int(5) != 0,
              account_source_from(row.column_text(6)),
              row.column_text(7),
              static_cast<int>(row.column_int(8)),
              row.column_int(9) != 0};
}

constexpr const char* kGroupColumns = "groups.id, groups.name, groups.from_directory";

Group read_group(const Statement& row) {
  return Group{row.column_int(0), row.column_text(1), row.column_int(2) != 0};
}

const char* kind_name(CredentialKind kind) {
  return kind == CredentialKind::login ? "login" : "api_token";
}

Credential read_credential(const Statement& row) {
  return Credential{
      row.column_text(0),
      row.column_int(1),
      row.column_text(2) == "login" ? CredentialKind::login : CredentialKind::api_token,
      row.column_text(3),
      row.column_text(4),
      row.column_int(5),
      row.column_int(6)};
}

constexpr const char* kCredentialColumns =
    "secret_digest, user_id, kind, name, csrf_token, created_at, expires_at";

}  // namespace

Result<User> SqlStore::create_user(const std::string& username, const std::string& password_hash,
                                   bool admin, UnixMillis now) {
  Lock lock(mutex_);
  auto insert = db_.prepare(
      "INSERT INTO users (username, password_hash, admin, uid, created_at) "
      "VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(uid) + 1, ?4) FROM users), ?5) "
      "RETURNING " +
      std::string(kUserColumns));
  if (!insert) return insert.error();
  insert->bind(1, username)
      .bind(2, password_hash)
      .bind(3, admin)
      .bind(4, kFirstSessionUid)
      .bind(5, now);
  auto row = insert->step();
  if (!row) {
    if (row.error().code == ErrorCode::conflict) {
      return make_error(ErrorCode::conflict, fmt::format("user \"{}\" already exists", username));
    }
    return row.error();
  }
  User user = read_user(*insert);
  GPUPOOL_TRY(insert->run());
  return user;
}

Result<std::optional<StoredUser>> SqlStore::find_user_by_name(const std::string& username) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      fmt::format("SELECT {}, password_hash FROM users WHERE username = ?1", kUserColumns));
  if (!query) return query.error();
  query->bind(1, username);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<StoredUser>{};
  return std::optional<StoredUser>{
      StoredUser{read_user(*query), query->column_text(kUserColumnCount)}};
}

Result<std::optional<User>> SqlStore::find_user(std::int64_t id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(fmt::format("SELECT {} FROM users WHERE id = ?1", kUserColumns));
  if (!query) return query.error();
  query->bind(1, id);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<User>{};
  return std::optional<User>{read_user(*query)};
}

Result<std::int64_t> SqlStore::count_users() {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare("SELECT COUNT(*) FROM users");
  if (!query) return query.error();
  auto row = query->step();
  if (!row) return row.error();
  return query->column_int(0);
}

Result<std::vector<User>> SqlStore::list_users() {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(fmt::format("SELECT {} FROM users ORDER BY username", kUserColumns));
  if (!query) return query.error();
  return query->collect<User>([](const Statement& row) { return read_user(row); });
}

Status SqlStore::add_credential(const Credential& credential) {
  Lock lock(mutex_);
  auto insert = db_.prepare(
      "INSERT INTO credentials (secret_digest, user_id, kind, name, csrf_token, created_at, "
      "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!insert) return insert.error();
  insert->bind(1, credential.secret_digest)
      .bind(2, credential.user_id)
      .bind(3, kind_name(credential.kind))
      .bind(4, credential.name)
      .bind(5, credential.csrf_token)
      .bind(6, credential.created_at)
      .bind(7, credential.expires_at);
  return insert->run();
}

Result<std::optional<Credential>> SqlStore::find_credential(const std::string& secret_digest,
                                                            UnixMillis now) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(fmt::format(
      "SELECT {} FROM credentials WHERE secret_digest = ?1 AND (expires_at = 0 OR expires_at > ?2)",
      kCredentialColumns));
  if (!query) return query.error();
  query->bind(1, secret_digest).bind(2, now);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<Credential>{};
  return std::optional<Credential>{read_credential(*query)};
}

Status SqlStore::delete_credential(const std::string& secret_digest) {
  Lock lock(mutex_);
  auto statement = db_.prepare("DELETE FROM credentials WHERE secret_digest = ?1");
  if (!statement) return statement.error();
  statement->bind(1, secret_digest);
  return statement->run();
}

Result<std::vector<Credential>> SqlStore::list_credentials(std::int64_t user_id, UnixMillis now) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(fmt::format(
      "SELECT {} FROM credentials WHERE user_id = ?1 AND (expires_at = 0 OR expires_at > ?2) "
      "ORDER BY created_at DESC, secret_digest",
      kCredentialColumns));
  if (!query) return query.error();
  query->bind(1, user_id).bind(2, now);
  return query->collect<Credential>([](const Statement& row) { return read_credential(row); });
}

Status SqlStore::set_credential_expiry(const std::string& secret_digest, UnixMillis expires_at) {
  Lock lock(mutex_);
  auto statement = db_.prepare("UPDATE credentials SET expires_at = ?2 WHERE secret_digest = ?1");
  if (!statement) return statement.error();
  statement->bind(1, secret_digest).bind(2, expires_at);
  return statement->run();
}

Result<std::vector<std::string>> SqlStore::delete_credentials_of(std::int64_t user_id,
                                                                 std::optional<CredentialKind> kind,
                                                                 const std::string& keep) {
  Lock lock(mutex_);
  auto statement = db_.prepare(
      "DELETE FROM credentials WHERE user_id = ?1 AND (?2 = '' OR kind = ?2) "
      "AND secret_digest != ?3 RETURNING secret_digest");
  if (!statement) return statement.error();
  statement->bind(1, user_id).bind(2, kind ? kind_name(*kind) : "").bind(3, keep);
  return statement->collect<std::string>([](const Statement& row) { return row.column_text(0); });
}

Status SqlStore::set_user_access(std::int64_t user_id, bool admin, bool disabled) {
  Lock lock(mutex_);
  auto statement = db_.prepare("UPDATE users SET admin = ?2, disabled = ?3 WHERE id = ?1");
  if (!statement) return statement.error();
  statement->bind(1, user_id).bind(2, admin).bind(3, disabled);
  return statement->run();
}

Status SqlStore::set_password_hash(std::int64_t user_id, const std::string& password_hash) {
  Lock lock(mutex_);
  auto statement = db_.prepare("UPDATE users SET password_hash = ?2 WHERE id = ?1");
  if (!statement) return statement.error();
  statement->bind(1, user_id).bind(2, password_hash);
  return statement->run();
}

Status SqlStore::set_user_identity(std::int64_t user_id, const UserIdentity& identity) {
  Lock lock(mutex_);
  auto statement = db_.prepare(
      "UPDATE users SET source = ?2, external_id = ?3, uid = CASE WHEN ?4 > 0 THEN ?4 ELSE uid "
      "END, uid_from_directory = CASE WHEN ?4 > 0 THEN 1 ELSE 0 END, gid = ?5 WHERE id = ?1");
  if (!statement) return statement.error();
  statement->bind(1, user_id)
      .bind(2, std::string(to_string(identity.source)))
      .bind(3, identity.external_id)
      .bind(4, identity.uid)
      .bind(5, identity.gid);
  auto ran = statement->run();
  if (!ran && ran.error().code == ErrorCode::conflict) {
    return make_error(ErrorCode::conflict,
                      fmt::format("uid {} belongs to another gpupool user", identity.uid));
  }
  return ran;
}

Status SqlStore::set_directory_groups(std::int64_t user_id,
                                      const std::vector<std::int64_t>& group_ids) {
  return in_transaction([&]() -> Status {
    auto clear = db_.prepare(
        "DELETE FROM group_members WHERE user_id = ?1 AND group_id IN "
        "(SELECT id FROM groups WHERE from_directory != 0)");
    if (!clear) return clear.error();
    clear->bind(1, user_id);
    GPUPOOL_TRY(clear->run());
    for (auto group_id : group_ids) {
      auto insert = db_.prepare(
          "INSERT INTO group_members (group_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING");
      if (!insert) return insert.error();
      insert->bind(1, group_id).bind(2, user_id);
      GPUPOOL_TRY(insert->run());
    }
    return {};
  });
}

Status SqlStore::set_group_from_directory(std::int64_t group_id) {
  Lock lock(mutex_);
  auto statement = db_.prepare("UPDATE groups SET from_directory = 1 WHERE id = ?1");
  if (!statement) return statement.error();
  statement->bind(1, group_id);
  return statement->run();
}

Status SqlStore::put_sign_in_attempt(const std::string& digest, const std::string& payload,
                                     UnixMillis expires_at, UnixMillis now) {
  return in_transaction([&]() -> Status {
    auto prune = db_.prepare("DELETE FROM sign_in_attempts WHERE expires_at <= ?1");
    if (!prune) return prune.error();
    prune->bind(1, now);
    GPUPOOL_TRY(prune->run());
    auto insert = db_.prepare(
        "INSERT INTO sign_in_attempts (digest, payload, expires_at) VALUES (?1, ?2, ?3)");
    if (!insert) return insert.error();
    insert->bind(1, digest).bind(2, payload).bind(3, expires_at);
    return insert->run();
  });
}

Result<std::optional<std::string>> SqlStore::take_sign_in_attempt(const std::string& digest,
                                                                  UnixMillis now) {
  Lock lock(mutex_);
  auto taken =
      db_.prepare("DELETE FROM sign_in_attempts WHERE digest = ?1 RETURNING payload, expires_at");
  if (!taken) return taken.error();
  taken->bind(1, digest);
  auto row = taken->step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>{};
  std::string payload = taken->column_text(0);
  bool live = taken->column_int(1) > now;
  GPUPOOL_TRY(taken->run());
  return live ? std::optional<std::string>{payload} : std::nullopt;
}

Status SqlStore::put_provider_token(std::int64_t user_id, const std::string& sealed,
                                    UnixMillis now) {
  Lock lock(mutex_);
  auto upsert = db_.prepare(
      "INSERT INTO provider_tokens (user_id, sealed, updated_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (user_id) DO UPDATE SET sealed = excluded.sealed, "
      "updated_at = excluded.updated_at");
  if (!upsert) return upsert.error();
  upsert->bind(1, user_id).bind(2, sealed).bind(3, now);
  return upsert->run();
}

Result<std::optional<std::string>> SqlStore::find_provider_token(std::int64_t user_id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare("SELECT sealed FROM provider_tokens WHERE user_id = ?1");
  if (!query) return query.error();
  query->bind(1, user_id);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>{};
  return std::optional<std::string>{query->column_text(0)};
}

Status SqlStore::replace_provider_token(std::int64_t user_id, const std::string& expected,
                                        const std::string& sealed, UnixMillis now) {
  Lock lock(mutex_);
  auto update = db_.prepare(
      "UPDATE provider_tokens SET sealed = ?3, updated_at = ?4 WHERE user_id = ?1 AND sealed = ?2");
  if (!update) return update.error();
  update->bind(1, user_id).bind(2, expected).bind(3, sealed).bind(4, now);
  return update->run();
}

Status SqlStore::drop_provider_token(std::int64_t user_id) {
  Lock lock(mutex_);
  auto drop = db_.prepare("DELETE FROM provider_tokens WHERE user_id = ?1");
  if (!drop) return drop.error();
  drop->bind(1, user_id);
  return drop->run();
}

Result<Group> SqlStore::create_group(const std::string& name, UnixMillis now) {
  Lock lock(mutex_);
  auto insert = db_.prepare(fmt::format(
      "INSERT INTO groups (name, created_at) VALUES (?1, ?2) RETURNING {}", kGroupColumns));
  if (!insert) return insert.error();
  insert->bind(1, name).bind(2, now);
  auto row = insert->step();
  if (!row) {
    if (row.error().code == ErrorCode::conflict) {
      return make_error(ErrorCode::conflict, fmt::format("group \"{}\" already exists", name));
    }
    return row.error();
  }
  Group group = read_group(*insert);
  GPUPOOL_TRY(insert->run());
  return group;
}

Result<std::optional<Group>> SqlStore::find_group(const std::string& name) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(fmt::format("SELECT {} FROM groups WHERE name = ?1", kGroupColumns));
  if (!query) return query.error();
  query->bind(1, name);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<Group>{};
  return std::optional<Group>{read_group(*query)};
}

Status SqlStore::set_group_members(std::int64_t group_id,
                                   const std::vector<std::int64_t>& user_ids) {
  return in_transaction([&]() -> Status {
    auto clear = db_.prepare("DELETE FROM group_members WHERE group_id = ?1");
    if (!clear) return clear.error();
    clear->bind(1, group_id);
    GPUPOOL_TRY(clear->run());
    for (auto user_id : user_ids) {
      auto insert = db_.prepare(
          "INSERT INTO group_members (group_id, user_id) VALUES (?1, ?2) "
          "ON CONFLICT DO NOTHING");
      if (!insert) return insert.error();
      insert->bind(1, group_id).bind(2, user_id);
      GPUPOOL_TRY(insert->run());
    }
    return {};
  });
}

Result<std::vector<Group>> SqlStore::groups_of(std::int64_t user_id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      fmt::format("SELECT {} FROM groups JOIN group_members ON groups.id = group_members.group_id "
                  "WHERE group_members.user_id = ?1 ORDER BY groups.name",
                  kGroupColumns));
  if (!query) return query.error();
  query->bind(1, user_id);
  return query->collect<Group>(read_group);
}

Result<std::vector<Group>> SqlStore::list_groups() {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(fmt::format("SELECT {} FROM groups ORDER BY name", kGroupColumns));
  if (!query) return query.error();
  return query->collect<Group>(read_group);
}

Result<std::vector<std::int64_t>> SqlStore::group_member_ids(std::int64_t group_id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare("SELECT user_id FROM group_members WHERE group_id = ?1 ORDER BY user_id");
  if (!query) return query.error();
  query->bind(1, group_id);
  return query->collect<std::int64_t>([](const Statement& row) { return row.column_int(0); });
}

namespace {

constexpr const char* kQuotaColumns =
    "quotas.scope, quotas.subject_id, COALESCE(users.username, groups.name, ''), quotas.max_gpus, "
    "quotas.max_sessions, quotas.max_gpu_memory_mb, quotas.max_session_hours, "
    "quotas.max_gpus_by_model FROM quotas "
    "LEFT JOIN users ON quotas.scope = 'user' AND users.id = quotas.subject_id "
    "LEFT JOIN groups ON quotas.scope = 'group' AND groups.id = quotas.subject_id";

Quota read_quota(const Statement& row) {
  Quota quota;
  quota.scope = row.column_text(0) == "group" ? QuotaScope::group : QuotaScope::user;
  quota.subject_id = row.column_int(1);
  quota.subject_name = row.column_text(2);
  if (!row.column_is_null(3)) quota.max_gpus = static_cast<int>(row.column_int(3));
  if (!row.column_is_null(4)) quota.max_sessions = static_cast<int>(row.column_int(4));
  if (!row.column_is_null(5)) quota.max_gpu_memory_mb = row.column_int(5);
  if (!row.column_is_null(6)) quota.max_session_hours = row.column_double(6);
  quota.max_gpus_by_model =
      nlohmann::json::parse(row.column_text(7)).get<std::map<std::string, int>>();
  return quota;
}

}  // namespace

Status SqlStore::set_quota(const Quota& quota) {
  Lock lock(mutex_);
  auto statement = db_.prepare(
      "INSERT INTO quotas (scope, subject_id, max_gpus, max_sessions, max_gpu_memory_mb, "
      "max_session_hours, max_gpus_by_model) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT "
      "(scope, subject_id) DO UPDATE SET max_gpus = excluded.max_gpus, max_sessions = "
      "excluded.max_sessions, max_gpu_memory_mb = excluded.max_gpu_memory_mb, max_session_hours "
      "= excluded.max_session_hours, max_gpus_by_model = excluded.max_gpus_by_model");
  if (!statement) return statement.error();
  statement->bind(1, quota.scope == QuotaScope::user ? "user" : "group").bind(2, quota.subject_id);
  if (quota.max_gpus) statement->bind(3, *quota.max_gpus);
  if (quota.max_sessions) statement->bind(4, *quota.max_sessions);
  if (quota.max_gpu_memory_mb) statement->bind(5, *quota.max_gpu_memory_mb);
  if (quota.max_session_hours) statement->bind(6, *quota.max_session_hours);
  statement->bind(7, nlohmann::json(quota.max_gpus_by_model).dump());
  return statement->run();
}

Result<std::vector<Quota>> SqlStore::quotas_for(std::int64_t user_id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query =
      db.prepare(fmt::format("SELECT {} WHERE (quotas.scope = 'user' AND quotas.subject_id = ?1) "
                             "OR (quotas.scope = 'group' AND "
                             "quotas.subject_id IN (SELECT group_id FROM group_members WHERE "
                             "user_id = ?1)) ORDER BY 1 DESC, 3",
                             kQuotaColumns));
  if (!query) return query.error();
  query->bind(1, user_id);
  return query->collect<Quota>(read_quota);
}

Result<std::vector<Quota>> SqlStore::list_quotas() {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(fmt::format("SELECT {} ORDER BY 1 DESC, 3", kQuotaColumns));
  if (!query) return query.error();
  return query->collect<Quota>(read_quota);
}

Status SqlStore::replace_ssh_keys(std::int64_t user_id, const std::vector<std::string>& keys) {
  return in_transaction([&]() -> Status {
    auto clear = db_.prepare("DELETE FROM ssh_keys WHERE user_id = ?1");
    if (!clear) return clear.error();
    clear->bind(1, user_id);
    GPUPOOL_TRY(clear->run());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      auto insert =
          db_.prepare("INSERT INTO ssh_keys (user_id, position, public_key) VALUES (?1, ?2, ?3)");
      if (!insert) return insert.error();
      insert->bind(1, user_id).bind(2, static_cast<std::int64_t>(i)).bind(3, keys[i]);
      GPUPOOL_TRY(insert->run());
    }
    return {};
  });
}

Result<std::vector<std::string>> SqlStore::ssh_keys(std::int64_t user_id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare("SELECT public_key FROM ssh_keys WHERE user_id = ?1 ORDER BY position");
  if (!query) return query.error();
  query->bind(1, user_id);
  return query->collect<std::string>([](const Statement& row) { return row.column_text(0); });
}

}  // namespace gpupool
