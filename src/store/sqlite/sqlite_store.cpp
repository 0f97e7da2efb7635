#include "store/sqlite/sqlite_store.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

#include <fmt/format.h>

#include "store/migrations/migrations.hpp"

namespace gpupool {

using Lock = std::lock_guard<std::recursive_mutex>;
using sqlite::Statement;

namespace {

constexpr const char* kSessionColumns =
    "id, user_id, image_tag, image_reference, gpus, gpu_model, cpus, memory_mb, max_hours, "
    "state, end_reason, reason, node, gpu_indices, gpu_uuids, jupyter_port, ssh_port, "
    "jupyter_token, ssh_host_key, created_at, updated_at, started_at, ended_at, gpu_memory_mb, "
    "priority, preemptible, preempt_at, node_selector, billed_gpu_model, billed_gpus, "
    "rate_micros_per_hour, queue_reason, (SELECT username FROM users WHERE users.id = "
    "sessions.user_id), "
    "(SELECT uid FROM users WHERE users.id = sessions.user_id)";

Session read_session(const Statement& row) {
  Session session;
  session.id = row.column_text(0);
  session.user_id = row.column_int(1);
  session.request.image_tag = row.column_text(2);
  session.image_reference = row.column_text(3);
  session.request.gpus = static_cast<int>(row.column_int(4));
  session.request.gpu_model = row.column_text(5);
  session.request.cpus = row.column_double(6);
  session.request.memory_mb = row.column_int(7);
  if (!row.column_text(8).empty()) session.request.max_hours = row.column_double(8);
  session.state = parse_session_state(row.column_text(9)).value_or(SessionState::ended);
  session.end_reason = parse_end_reason(row.column_text(10)).value_or(EndReason::none);
  session.reason = row.column_text(11);
  session.node = row.column_text(12);
  session.gpu_indices = nlohmann::json::parse(row.column_text(13)).get<std::vector<int>>();
  session.gpu_uuids = nlohmann::json::parse(row.column_text(14)).get<std::vector<std::string>>();
  session.jupyter_port = static_cast<int>(row.column_int(15));
  session.ssh_port = static_cast<int>(row.column_int(16));
  session.jupyter_token = row.column_text(17);
  session.ssh_host_key = row.column_text(18);
  session.created_at = row.column_int(19);
  session.updated_at = row.column_int(20);
  session.started_at = row.column_int(21);
  session.ended_at = row.column_int(22);
  session.request.gpu_memory_mb = row.column_int(23);
  session.request.priority = static_cast<int>(row.column_int(24));
  session.request.preemptible = row.column_int(25) != 0;
  session.preempt_at = row.column_int(26);
  session.request.node_selector =
      nlohmann::json::parse(row.column_text(27)).get<std::map<std::string, std::string>>();
  session.billed_gpu_model = row.column_text(28);
  session.billed_gpus = row.column_double(29);
  session.rate_micros_per_hour = row.column_int(30);
  if (std::string queued = row.column_text(31); !queued.empty()) {
    session.queue_reason = queue_reason_from_json(nlohmann::json::parse(queued, nullptr, false));
  }
  session.username = row.column_text(32);
  session.uid = static_cast<int>(row.column_int(33));
  return session;
}

// The queue reason as stored: the API's document and the exact estimated start.
std::string queue_reason_text(const std::optional<QueueReason>& reason) {
  if (!reason) return "";
  auto document = to_json(*reason);
  document["estimated_start_ms"] = reason->estimated_start;
  return document.dump();
}

// Binds the 32 stored columns of a session in kSessionColumns order.
void bind_session(Statement& statement, const Session& session) {
  statement.bind(1, session.id)
      .bind(2, session.user_id)
      .bind(3, session.request.image_tag)
      .bind(4, session.image_reference)
      .bind(5, session.request.gpus)
      .bind(6, session.request.gpu_model)
      .bind(7, session.request.cpus)
      .bind(8, session.request.memory_mb)
      .bind(10, to_string(session.state))
      .bind(11, to_string(session.end_reason))
      .bind(12, session.reason)
      .bind(13, session.node)
      .bind(14, nlohmann::json(session.gpu_indices).dump())
      .bind(15, nlohmann::json(session.gpu_uuids).dump())
      .bind(16, session.jupyter_port)
      .bind(17, session.ssh_port)
      .bind(18, session.jupyter_token)
      .bind(19, session.ssh_host_key)
      .bind(20, session.created_at)
      .bind(21, session.updated_at)
      .bind(22, session.started_at)
      .bind(23, session.ended_at)
      .bind(24, session.request.gpu_memory_mb)
      .bind(25, session.request.priority)
      .bind(26, session.request.preemptible)
      .bind(27, session.preempt_at)
      .bind(28, nlohmann::json(session.request.node_selector).dump())
      .bind(29, session.billed_gpu_model)
      .bind(30, session.billed_gpus)
      .bind(31, session.rate_micros_per_hour)
      .bind(32, queue_reason_text(session.queue_reason));
  if (session.request.max_hours) statement.bind(9, *session.request.max_hours);
}

User read_user(const Statement& row) {
  return User{row.column_int(0), row.column_text(1), row.column_int(2) != 0,
              static_cast<int>(row.column_int(3)), row.column_int(4)};
}

nlohmann::json gpus_to_json(const std::vector<GpuDevice>& gpus) {
  auto list = nlohmann::json::array();
  for (const auto& gpu : gpus) {
    auto links = nlohmann::json::array();
    for (GpuLink link : gpu.links) links.push_back(static_cast<int>(link));
    list.push_back({{"index", gpu.index},
                    {"uuid", gpu.uuid},
                    {"model", gpu.model},
                    {"memory_mb", gpu.memory_mb},
                    {"simulated", gpu.simulated},
                    {"links", links}});
  }
  return list;
}

std::vector<GpuDevice> gpus_from_json(const std::string& text) {
  std::vector<GpuDevice> gpus;
  for (const auto& item : nlohmann::json::parse(text)) {
    GpuDevice gpu{item.at("index").get<int>(),         item.at("uuid").get<std::string>(),
                  item.at("model").get<std::string>(), item.at("memory_mb").get<std::int64_t>(),
                  item.at("simulated").get<bool>(),    {}};
    for (const auto& link : item.value("links", nlohmann::json::array())) {
      gpu.links.push_back(static_cast<GpuLink>(std::clamp(link.get<int>(), 0, 4)));
    }
    gpus.push_back(std::move(gpu));
  }
  return gpus;
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  auto database = sqlite::Database::open(path);
  if (!database) return database.error();
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(*database)));
  GPUPOOL_TRY(store->migrate());
  return store;
}

Status SqliteStore::migrate() {
  Lock lock(mutex_);
  auto version_query = db_.prepare("PRAGMA user_version");
  if (!version_query) return version_query.error();
  auto row = version_query->step();
  if (!row) return row.error();
  int current = static_cast<int>(version_query->column_int(0));
  int newest = migrations::all().empty() ? 0 : migrations::all().back().version;
  if (current > newest) {
    return make_error(ErrorCode::unavailable,
                      fmt::format("database schema version {} is newer than this gpupool ({}); "
                                  "refusing to start",
                                  current, newest));
  }
  for (const auto& migration : migrations::all()) {
    if (migration.version <= current) continue;
    auto applied = in_transaction([&]() -> Status {
      GPUPOOL_TRY(db_.execute(migration.sql));
      return db_.execute(fmt::format("PRAGMA user_version = {}", migration.version));
    });
    if (!applied) {
      return make_error(applied.error().code, fmt::format("migration {} failed: {}", migration.name,
                                                          applied.error().message));
    }
  }
  return {};
}

Status SqliteStore::in_transaction(const std::function<Status()>& work) {
  Lock lock(mutex_);
  if (transaction_depth_ > 0) {
    ++transaction_depth_;
    auto result = work();
    --transaction_depth_;
    return result;
  }
  GPUPOOL_TRY(db_.execute("BEGIN IMMEDIATE"));
  transaction_depth_ = 1;
  auto result = work();
  transaction_depth_ = 0;
  if (!result) {
    (void)db_.execute("ROLLBACK");
    return result;
  }
  auto committed = db_.execute("COMMIT");
  if (!committed) (void)db_.execute("ROLLBACK");
  return committed;
}

Result<User> SqliteStore::create_user(const std::string& username, const std::string& password_hash,
                                      bool admin, UnixMillis now) {
  Lock lock(mutex_);
  auto insert = db_.prepare(
      "INSERT INTO users (username, password_hash, admin, uid, created_at) "
      "VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(uid) + 1, ?4) FROM users), ?5) "
      "RETURNING id, username, admin, uid, created_at");
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

Result<std::optional<StoredUser>> SqliteStore::find_user_by_name(const std::string& username) {
  Lock lock(mutex_);
  auto query = db_.prepare(
      "SELECT id, username, admin, uid, created_at, password_hash FROM users WHERE username = ?1");
  if (!query) return query.error();
  query->bind(1, username);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<StoredUser>{};
  return std::optional<StoredUser>{StoredUser{read_user(*query), query->column_text(5)}};
}

Result<std::optional<User>> SqliteStore::find_user(std::int64_t id) {
  Lock lock(mutex_);
  auto query = db_.prepare("SELECT id, username, admin, uid, created_at FROM users WHERE id = ?1");
  if (!query) return query.error();
  query->bind(1, id);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<User>{};
  return std::optional<User>{read_user(*query)};
}

Result<std::int64_t> SqliteStore::count_users() {
  Lock lock(mutex_);
  auto query = db_.prepare("SELECT COUNT(*) FROM users");
  if (!query) return query.error();
  auto row = query->step();
  if (!row) return row.error();
  return query->column_int(0);
}

Result<std::vector<User>> SqliteStore::list_users() {
  Lock lock(mutex_);
  auto query =
      db_.prepare("SELECT id, username, admin, uid, created_at FROM users ORDER BY username");
  if (!query) return query.error();
  return query->collect<User>([](const Statement& row) { return read_user(row); });
}

Status SqliteStore::add_credential(const Credential& credential) {
  Lock lock(mutex_);
  auto insert = db_.prepare(
      "INSERT INTO credentials (secret_digest, user_id, kind, name, csrf_token, created_at, "
      "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!insert) return insert.error();
  insert->bind(1, credential.secret_digest)
      .bind(2, credential.user_id)
      .bind(3, credential.kind == CredentialKind::login ? "login" : "api_token")
      .bind(4, credential.name)
      .bind(5, credential.csrf_token)
      .bind(6, credential.created_at)
      .bind(7, credential.expires_at);
  return insert->run();
}

Result<std::optional<Credential>> SqliteStore::find_credential(const std::string& secret_digest,
                                                               UnixMillis now) {
  Lock lock(mutex_);
  auto query = db_.prepare(
      "SELECT secret_digest, user_id, kind, name, csrf_token, created_at, expires_at "
      "FROM credentials WHERE secret_digest = ?1 AND (expires_at = 0 OR expires_at > ?2)");
  if (!query) return query.error();
  query->bind(1, secret_digest).bind(2, now);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<Credential>{};
  Credential credential{
      query->column_text(0),
      query->column_int(1),
      query->column_text(2) == "login" ? CredentialKind::login : CredentialKind::api_token,
      query->column_text(3),
      query->column_text(4),
      query->column_int(5),
      query->column_int(6)};
  return std::optional<Credential>{std::move(credential)};
}

Status SqliteStore::delete_credential(const std::string& secret_digest) {
  Lock lock(mutex_);
  auto statement = db_.prepare("DELETE FROM credentials WHERE secret_digest = ?1");
  if (!statement) return statement.error();
  statement->bind(1, secret_digest);
  return statement->run();
}

Result<Group> SqliteStore::create_group(const std::string& name, UnixMillis now) {
  Lock lock(mutex_);
  auto insert =
      db_.prepare("INSERT INTO groups (name, created_at) VALUES (?1, ?2) RETURNING id, name");
  if (!insert) return insert.error();
  insert->bind(1, name).bind(2, now);
  auto row = insert->step();
  if (!row) {
    if (row.error().code == ErrorCode::conflict) {
      return make_error(ErrorCode::conflict, fmt::format("group \"{}\" already exists", name));
    }
    return row.error();
  }
  Group group{insert->column_int(0), insert->column_text(1)};
  GPUPOOL_TRY(insert->run());
  return group;
}

Result<std::optional<Group>> SqliteStore::find_group(const std::string& name) {
  Lock lock(mutex_);
  auto query = db_.prepare("SELECT id, name FROM groups WHERE name = ?1");
  if (!query) return query.error();
  query->bind(1, name);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<Group>{};
  return std::optional<Group>{Group{query->column_int(0), query->column_text(1)}};
}

Status SqliteStore::set_group_members(std::int64_t group_id,
                                      const std::vector<std::int64_t>& user_ids) {
  return in_transaction([&]() -> Status {
    auto clear = db_.prepare("DELETE FROM group_members WHERE group_id = ?1");
    if (!clear) return clear.error();
    clear->bind(1, group_id);
    GPUPOOL_TRY(clear->run());
    for (auto user_id : user_ids) {
      auto insert =
          db_.prepare("INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?1, ?2)");
      if (!insert) return insert.error();
      insert->bind(1, group_id).bind(2, user_id);
      GPUPOOL_TRY(insert->run());
    }
    return {};
  });
}

Result<std::vector<Group>> SqliteStore::groups_of(std::int64_t user_id) {
  Lock lock(mutex_);
  auto query = db_.prepare(
      "SELECT groups.id, groups.name FROM groups JOIN group_members ON groups.id = "
      "group_members.group_id "
      "WHERE group_members.user_id = ?1 ORDER BY groups.name");
  if (!query) return query.error();
  query->bind(1, user_id);
  return query->collect<Group>([](const Statement& row) {
    return Group{row.column_int(0), row.column_text(1)};
  });
}

Result<std::vector<Group>> SqliteStore::list_groups() {
  Lock lock(mutex_);
  auto query = db_.prepare("SELECT id, name FROM groups ORDER BY name");
  if (!query) return query.error();
  return query->collect<Group>([](const Statement& row) {
    return Group{row.column_int(0), row.column_text(1)};
  });
}

Result<std::vector<std::int64_t>> SqliteStore::group_member_ids(std::int64_t group_id) {
  Lock lock(mutex_);
  auto query =
      db_.prepare("SELECT user_id FROM group_members WHERE group_id = ?1 ORDER BY user_id");
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

Status SqliteStore::set_quota(const Quota& quota) {
  Lock lock(mutex_);
  auto statement = db_.prepare(
      "INSERT OR REPLACE INTO quotas (scope, subject_id, max_gpus, max_sessions, "
      "max_gpu_memory_mb, "
      "max_session_hours, max_gpus_by_model) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!statement) return statement.error();
  statement->bind(1, quota.scope == QuotaScope::user ? "user" : "group").bind(2, quota.subject_id);
  if (quota.max_gpus) statement->bind(3, *quota.max_gpus);
  if (quota.max_sessions) statement->bind(4, *quota.max_sessions);
  if (quota.max_gpu_memory_mb) statement->bind(5, *quota.max_gpu_memory_mb);
  if (quota.max_session_hours) statement->bind(6, *quota.max_session_hours);
  statement->bind(7, nlohmann::json(quota.max_gpus_by_model).dump());
  return statement->run();
}

Result<std::vector<Quota>> SqliteStore::quotas_for(std::int64_t user_id) {
  Lock lock(mutex_);
  auto query =
      db_.prepare(fmt::format("SELECT {} WHERE (quotas.scope = 'user' AND quotas.subject_id = ?1) "
                              "OR (quotas.scope = 'group' AND "
                              "quotas.subject_id IN (SELECT group_id FROM group_members WHERE "
                              "user_id = ?1)) ORDER BY 1 DESC, 3",
                              kQuotaColumns));
  if (!query) return query.error();
  query->bind(1, user_id);
  return query->collect<Quota>(read_quota);
}

Result<std::vector<Quota>> SqliteStore::list_quotas() {
  Lock lock(mutex_);
  auto query = db_.prepare(fmt::format("SELECT {} ORDER BY 1 DESC, 3", kQuotaColumns));
  if (!query) return query.error();
  return query->collect<Quota>(read_quota);
}

Status SqliteStore::replace_ssh_keys(std::int64_t user_id, const std::vector<std::string>& keys) {
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

Result<std::vector<std::string>> SqliteStore::ssh_keys(std::int64_t user_id) {
  Lock lock(mutex_);
  auto query = db_.prepare("SELECT public_key FROM ssh_keys WHERE user_id = ?1 ORDER BY position");
  if (!query) return query.error();
  query->bind(1, user_id);
  return query->collect<std::string>([](const Statement& row) { return row.column_text(0); });
}

Status SqliteStore::upsert_image(const Image& image) {
  Lock lock(mutex_);
  auto statement = db_.prepare(
      "INSERT INTO images (tag, reference, framework, framework_version, cuda, cudnn, flavor, "
      "is_default, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (tag) DO UPDATE "
      "SET reference = excluded.reference, framework = excluded.framework, framework_version = "
      "excluded.framework_version, cuda = excluded.cuda, cudnn = excluded.cudnn, flavor = "
      "excluded.flavor, is_default = excluded.is_default, status = excluded.status");
  if (!statement) return statement.error();
  statement->bind(1, image.tag)
      .bind(2, image.reference)
      .bind(3, image.framework)
      .bind(4, image.framework_version)
      .bind(5, image.cuda)
      .bind(6, image.cudnn)
      .bind(7, image.flavor)
      .bind(8, image.is_default)
      .bind(9, image.status);
  return statement->run();
}

Result<std::vector<Image>> SqliteStore::list_images() {
  Lock lock(mutex_);
  auto query = db_.prepare(
      "SELECT tag, reference, framework, framework_version, cuda, cudnn, flavor, is_default, "
      "status "
      "FROM images ORDER BY tag");
  if (!query) return query.error();
  return query->collect<Image>([](const Statement& row) {
    return Image{row.column_text(0), row.column_text(1),     row.column_text(2),
                 row.column_text(3), row.column_text(4),     row.column_text(5),
                 row.column_text(6), row.column_int(7) != 0, row.column_text(8)};
  });
}

Status SqliteStore::upsert_node(const Node& node) {
  Lock lock(mutex_);
  auto statement = db_.prepare(
      "INSERT INTO nodes (name, address, gpus, cpus, memory_mb, port_min, port_max, driver_cuda, "
      "simulated, last_seen, labels, jupyter_host) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
      "?10, "
      "?11, ?12) ON "
      "CONFLICT (name) "
      "DO UPDATE SET address = excluded.address, gpus = excluded.gpus, cpus = excluded.cpus, "
      "memory_mb = excluded.memory_mb, port_min = excluded.port_min, port_max = "
      "excluded.port_max, driver_cuda = excluded.driver_cuda, simulated = excluded.simulated, "
      "last_seen = excluded.last_seen, labels = excluded.labels, jupyter_host = "
      "excluded.jupyter_host");
  if (!statement) return statement.error();
  statement->bind(1, node.name)
      .bind(2, node.address)
      .bind(3, gpus_to_json(node.gpus).dump())
      .bind(4, node.cpus)
      .bind(5, node.memory_mb)
      .bind(6, node.port_min)
      .bind(7, node.port_max)
      .bind(8, node.driver_cuda)
      .bind(9, node.simulated)
      .bind(10, node.last_seen)
      .bind(11, nlohmann::json(node.labels).dump())
      .bind(12, node.jupyter_host);
  return statement->run();
}

Status SqliteStore::set_node_drained(const std::string& name, bool drained) {
  Lock lock(mutex_);
  auto statement = db_.prepare("UPDATE nodes SET drained = ?2 WHERE name = ?1");
  if (!statement) return statement.error();
  statement->bind(1, name).bind(2, drained);
  GPUPOOL_TRY(statement->run());
  if (db_.changes() == 0) return make_error(ErrorCode::not_found, "no node " + name);
  return {};
}

Result<std::vector<Node>> SqliteStore::list_nodes() {
  Lock lock(mutex_);
  auto query = db_.prepare(
      "SELECT name, address, gpus, cpus, memory_mb, port_min, port_max, driver_cuda, simulated, "
      "drained, last_seen, labels, jupyter_host FROM nodes ORDER BY name");
  if (!query) return query.error();
  return query->collect<Node>([](const Statement& row) {
    return Node{
        row.column_text(0),
        row.column_text(1),
        gpus_from_json(row.column_text(2)),
        static_cast<int>(row.column_int(3)),
        row.column_int(4),
        static_cast<int>(row.column_int(5)),
        static_cast<int>(row.column_int(6)),
        row.column_text(7),
        row.column_int(8) != 0,
        row.column_int(9) != 0,
        nlohmann::json::parse(row.column_text(11)).get<std::map<std::string, std::string>>(),
        row.column_int(10),
        row.column_text(12)};
  });
}

Status SqliteStore::insert_session(const Session& session) {
  return in_transaction([&]() -> Status {
    auto insert = db_.prepare(
        "INSERT INTO sessions (id, user_id, image_tag, image_reference, gpus, gpu_model, cpus, "
        "memory_mb, max_hours, state, end_reason, reason, node, gpu_indices, gpu_uuids, "
        "jupyter_port, ssh_port, jupyter_token, ssh_host_key, created_at, "
        "updated_at, started_at, ended_at, gpu_memory_mb, priority, preemptible, preempt_at, "
        "node_selector, billed_gpu_model, billed_gpus, rate_micros_per_hour, queue_reason) "
        "VALUES (?1, ?2, ?3, ?4, ?5, "
        "?6, ?7, ?8, ?9, ?10, ?11, "
        "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, "
        "?29, ?30, ?31, ?32)");
    if (!insert) return insert.error();
    bind_session(*insert, session);
    GPUPOOL_TRY(insert->run());
    return record_event(session.id, session.created_at, session.state, session.reason);
  });
}

Result<std::optional<Session>> SqliteStore::get_session(const std::string& id) {
  Lock lock(mutex_);
  auto query = db_.prepare(fmt::format("SELECT {} FROM sessions WHERE id = ?1", kSessionColumns));
  if (!query) return query.error();
  query->bind(1, id);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<Session>{};
  return std::optional<Session>{read_session(*query)};
}

Result<std::vector<Session>> SqliteStore::list_sessions(const SessionFilter& filter) {
  Lock lock(mutex_);
  std::string sql = fmt::format("SELECT {} FROM sessions WHERE 1 = 1", kSessionColumns);
  if (filter.user_id) sql += " AND user_id = ?1";
  if (filter.node) sql += " AND node = ?2";
  if (filter.active_only) sql += " AND state <> 'ended'";
  sql += " ORDER BY created_at, id";
  auto query = db_.prepare(sql);
  if (!query) return query.error();
  if (filter.user_id) query->bind(1, *filter.user_id);
  if (filter.node) query->bind(2, *filter.node);
  return query->collect<Session>([](const Statement& row) { return read_session(row); });
}

Status SqliteStore::update_session(const Session& session) {
  return in_transaction([&]() -> Status {
    auto previous = db_.prepare("SELECT state, reason FROM sessions WHERE id = ?1");
    if (!previous) return previous.error();
    previous->bind(1, session.id);
    auto found = previous->step();
    if (!found) return found.error();
    if (!*found) return make_error(ErrorCode::not_found, "no session " + session.id);
    bool changed = previous->column_text(0) != to_string(session.state) ||
                   previous->column_text(1) != session.reason;
    auto update = db_.prepare(
        "UPDATE sessions SET user_id = ?2, image_tag = ?3, image_reference = ?4, gpus = ?5, "
        "gpu_model = ?6, cpus = ?7, memory_mb = ?8, max_hours = ?9, state = ?10, end_reason = "
        "?11, reason = ?12, node = ?13, gpu_indices = ?14, gpu_uuids = ?15, jupyter_port = ?16, "
        "ssh_port = ?17, jupyter_token = ?18, ssh_host_key = ?19, created_at = ?20, "
        "updated_at = ?21, started_at = ?22, ended_at = ?23, gpu_memory_mb = ?24, priority = ?25, "
        "preemptible = ?26, preempt_at = ?27, node_selector = ?28, billed_gpu_model = ?29, "
        "billed_gpus = ?30, rate_micros_per_hour = ?31, queue_reason = ?32 "
        "WHERE id = ?1");
    if (!update) return update.error();
    bind_session(*update, session);
    GPUPOOL_TRY(update->run());
    if (!changed) return {};
    return record_event(session.id, session.updated_at, session.state, session.reason);
  });
}

Status SqliteStore::set_price(const Price& price) {
  Lock lock(mutex_);
  auto upsert = db_.prepare(
      "INSERT INTO prices (gpu_model, micros_per_gpu_hour, updated_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (gpu_model) DO UPDATE SET micros_per_gpu_hour = excluded.micros_per_gpu_hour, "
      "updated_at = excluded.updated_at");
  if (!upsert) return upsert.error();
  upsert->bind(1, price.gpu_model).bind(2, price.micros_per_gpu_hour).bind(3, price.updated_at);
  return upsert->run();
}

Result<std::vector<Price>> SqliteStore::list_prices() {
  Lock lock(mutex_);
  auto query = db_.prepare(
      "SELECT gpu_model, micros_per_gpu_hour, updated_at FROM prices ORDER BY gpu_model");
  if (!query) return query.error();
  return query->collect<Price>([](const Statement& row) {
    return Price{row.column_text(0), row.column_int(1), row.column_int(2)};
  });
}

namespace {

constexpr const char* kLedgerColumns =
    "id, user_id, at, kind, amount_micros, coalesce(session_id, ''), "
    "coalesce(idempotency_key, ''), note";

LedgerEntry read_ledger_entry(const Statement& row) {
  return LedgerEntry{
      row.column_int(0),  row.column_int(1),
      row.column_int(2),  parse_ledger_kind(row.column_text(3)).value_or(LedgerKind::charge),
      row.column_int(4),  row.column_text(5),
      row.column_text(6), row.column_text(7)};
}

}  // namespace

Result<bool> SqliteStore::add_ledger_entry(LedgerEntry& entry) {
  Lock lock(mutex_);
  // The unique indexes make a repeat a no-op rather than a second entry.
  auto insert = db_.prepare(
      "INSERT INTO ledger (user_id, at, kind, amount_micros, session_id, idempotency_key, note) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING");
  if (!insert) return insert.error();
  insert->bind(1, entry.user_id)
      .bind(2, entry.at)
      .bind(3, to_string(entry.kind))
      .bind(4, entry.amount_micros)
      .bind(7, entry.note);
  if (!entry.session_id.empty()) insert->bind(5, entry.session_id);
  if (!entry.idempotency_key.empty()) insert->bind(6, entry.idempotency_key);
  GPUPOOL_TRY(insert->run());
  if (db_.changes() == 0) return false;
  entry.id = db_.last_insert_rowid();
  return true;
}

Result<std::optional<LedgerEntry>> SqliteStore::find_ledger_entry(std::int64_t user_id,
                                                                  const std::string& key) {
  Lock lock(mutex_);
  auto query = db_.prepare(fmt::format(
      "SELECT {} FROM ledger WHERE user_id = ?1 AND idempotency_key = ?2", kLedgerColumns));
  if (!query) return query.error();
  query->bind(1, user_id).bind(2, key);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<LedgerEntry>{};
  return std::optional<LedgerEntry>{read_ledger_entry(*query)};
}

Result<std::int64_t> SqliteStore::ledger_sum(std::int64_t user_id) {
  Lock lock(mutex_);
  auto query = db_.prepare("SELECT coalesce(sum(amount_micros), 0) FROM ledger WHERE user_id = ?1");
  if (!query) return query.error();
  query->bind(1, user_id);
  auto row = query->step();
  if (!row) return row.error();
  return query->column_int(0);
}

Result<std::vector<LedgerEntry>> SqliteStore::ledger(std::int64_t user_id, int newest) {
  Lock lock(mutex_);
  auto query = db_.prepare(fmt::format(
      "SELECT {} FROM ledger WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2", kLedgerColumns));
  if (!query) return query.error();
  query->bind(1, user_id).bind(2, newest);
  return query->collect<LedgerEntry>([](const Statement& row) { return read_ledger_entry(row); });
}

Status SqliteStore::record_event(const std::string& session_id, UnixMillis at, SessionState state,
                                 const std::string& reason) {
  auto insert = db_.prepare(
      "INSERT INTO session_events (session_id, at, state, reason) VALUES (?1, ?2, ?3, ?4)");
  if (!insert) return insert.error();
  insert->bind(1, session_id).bind(2, at).bind(3, to_string(state)).bind(4, reason);
  return insert->run();
}

Result<std::vector<SessionEvent>> SqliteStore::session_events(const std::string& id) {
  Lock lock(mutex_);
  auto query = db_.prepare(
      "SELECT at, state, reason FROM session_events WHERE session_id = ?1 ORDER BY rowid");
  if (!query) return query.error();
  query->bind(1, id);
  return query->collect<SessionEvent>([](const Statement& row) {
    return SessionEvent{row.column_int(0),
                        parse_session_state(row.column_text(1)).value_or(SessionState::ended),
                        row.column_text(2)};
  });
}

}  // namespace gpupool
