// SqlStore: sessions and their history of state changes.
#include <nlohmann/json.hpp>

#include <algorithm>

#include <fmt/format.h>

#include "store/sql/sql_store.hpp"

namespace gpupool {

using Lock = std::lock_guard<std::recursive_mutex>;
using sql::Statement;

namespace {

constexpr const char* kSessionColumns =
    "id, user_id, image_tag, image_reference, gpus, gpu_model, cpus, memory_mb, max_hours, "
    "state, end_reason, reason, node, gpu_indices, gpu_uuids, jupyter_port, ssh_port, "
    "jupyter_token, ssh_host_key, created_at, updated_at, started_at, ended_at, gpu_memory_mb, "
    "priority, preemptible, preempt_at, node_selector, billed_gpu_model, billed_gpus, "
    "rate_micros_per_hour, queue_reason, down_since, down_millis, restarts, restarted_at, "
    "home_node, gateway_ssh_port, idle_warned_at, idle_kept_at, idle_keeps, idle_exempt, "
    "limit_warned, "
    "(SELECT username FROM users WHERE users.id = "
    "sessions.user_id), "
    "(SELECT uid FROM users WHERE users.id = sessions.user_id), gpu_busy_seconds, image_family, "
    "(SELECT gid FROM users WHERE users.id = sessions.user_id)";

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
  session.down_since = row.column_int(32);
  session.down_millis = row.column_int(33);
  session.restarts = static_cast<int>(row.column_int(34));
  session.restarted_at = row.column_int(35);
  session.home_node = row.column_text(36);
  session.gateway_ssh_port = static_cast<int>(row.column_int(37));
  session.idle_warned_at = row.column_int(38);
  session.idle_kept_at = row.column_int(39);
  session.idle_keeps = static_cast<int>(row.column_int(40));
  session.idle_exempt = row.column_int(41) != 0;
  session.limit_warned = row.column_int(42) != 0;
  session.username = row.column_text(43);
  session.uid = static_cast<int>(row.column_int(44));
  session.gpu_busy_seconds = row.column_double(45);
  session.image_family = row.column_text(46);
  session.gid = static_cast<int>(row.column_int(47));
  return session;
}

// The queue reason as stored: the API's document and the exact estimated start.
std::string queue_reason_text(const std::optional<QueueReason>& reason) {
  if (!reason) return "";
  auto document = to_json(*reason);
  document["estimated_start_ms"] = reason->estimated_start;
  return document.dump();
}

// Binds the 44 stored columns of a session: kSessionColumns' order, image_family last.
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
      .bind(32, queue_reason_text(session.queue_reason))
      .bind(33, session.down_since)
      .bind(34, session.down_millis)
      .bind(35, session.restarts)
      .bind(36, session.restarted_at)
      .bind(37, session.home_node)
      .bind(38, session.gateway_ssh_port)
      .bind(39, session.idle_warned_at)
      .bind(40, session.idle_kept_at)
      .bind(41, session.idle_keeps)
      .bind(42, session.idle_exempt)
      .bind(43, session.limit_warned)
      .bind(44, session.image_family);
  if (session.request.max_hours) statement.bind(9, *session.request.max_hours);
}

}  // namespace

Status SqlStore::insert_session(const Session& session) {
  return in_transaction([&]() -> Status {
    auto insert = db_.prepare(
        "INSERT INTO sessions (id, user_id, image_tag, image_reference, gpus, gpu_model, cpus, "
        "memory_mb, max_hours, state, end_reason, reason, node, gpu_indices, gpu_uuids, "
        "jupyter_port, ssh_port, jupyter_token, ssh_host_key, created_at, "
        "updated_at, started_at, ended_at, gpu_memory_mb, priority, preemptible, preempt_at, "
        "node_selector, billed_gpu_model, billed_gpus, rate_micros_per_hour, queue_reason, "
        "down_since, down_millis, restarts, restarted_at, home_node, gateway_ssh_port, "
        "idle_warned_at, idle_kept_at, idle_keeps, idle_exempt, limit_warned, image_family) "
        "VALUES (?1, ?2, ?3, ?4, ?5, "
        "?6, ?7, ?8, ?9, ?10, ?11, "
        "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, "
        "?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39, ?40, ?41, ?42, ?43, ?44)");
    if (!insert) return insert.error();
    bind_session(*insert, session);
    GPUPOOL_TRY(insert->run());
    return record_event(session.id, session.created_at, session.state, session.reason);
  });
}

Result<std::optional<Session>> SqlStore::get_session(const std::string& id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(fmt::format("SELECT {} FROM sessions WHERE id = ?1", kSessionColumns));
  if (!query) return query.error();
  query->bind(1, id);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<Session>{};
  return std::optional<Session>{read_session(*query)};
}

Result<std::vector<Session>> SqlStore::list_sessions(const SessionFilter& filter) {
  ReadLock lock;
  auto& db = for_reading(lock);
  std::string where;
  if (filter.user_id) where += " AND user_id = ?1";
  if (filter.node) where += " AND node = ?2";
  std::string sql;
  if (filter.ended_since) {
    // Two parts, each on its own partial index, rather than one OR that scans every row.
    sql = fmt::format(
        "SELECT {0} FROM sessions WHERE state <> 'ended'{1} UNION ALL "
        "SELECT {0} FROM sessions WHERE state = 'ended' AND ended_at >= ?3{1}",
        kSessionColumns, where);
  } else {
    sql = fmt::format("SELECT {} FROM sessions WHERE 1 = 1{}{}", kSessionColumns, where,
                      filter.active_only ? " AND state <> 'ended'" : "");
  }
  sql += " ORDER BY created_at, id";
  auto query = db.prepare(sql);
  if (!query) return query.error();
  if (filter.user_id) query->bind(1, *filter.user_id);
  if (filter.node) query->bind(2, *filter.node);
  if (filter.ended_since) query->bind(3, *filter.ended_since);
  return query->collect<Session>([](const Statement& row) { return read_session(row); });
}

Result<std::vector<std::string>> SqlStore::recent_session_nodes(std::int64_t user_id, int limit) {
  ReadLock lock;
  auto& db = for_reading(lock);
  // sessions_by_user (user_id, created_at) answers this without reading anyone else's.
  auto query = db.prepare(
      "SELECT node FROM sessions WHERE user_id = ?1 AND node <> '' "
      "ORDER BY created_at DESC LIMIT ?2");
  if (!query) return query.error();
  query->bind(1, user_id).bind(2, limit);
  return query->collect<std::string>([](const Statement& row) { return row.column_text(0); });
}

Status SqlStore::update_session(const Session& session) {
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
        "billed_gpus = ?30, rate_micros_per_hour = ?31, queue_reason = ?32, down_since = ?33, "
        "down_millis = ?34, restarts = ?35, restarted_at = ?36, home_node = ?37, "
        "gateway_ssh_port = ?38, idle_warned_at = ?39, idle_kept_at = ?40, idle_keeps = ?41, "
        "idle_exempt = ?42, limit_warned = ?43, image_family = ?44 WHERE id = ?1");
    if (!update) return update.error();
    bind_session(*update, session);
    GPUPOOL_TRY(update->run());
    if (!changed) return {};
    return record_event(session.id, session.updated_at, session.state, session.reason);
  });
}

Status SqlStore::record_event(const std::string& session_id, UnixMillis at, SessionState state,
                              const std::string& reason) {
  auto insert = db_.prepare(
      "INSERT INTO session_events (session_id, at, state, reason) VALUES (?1, ?2, ?3, ?4)");
  if (!insert) return insert.error();
  insert->bind(1, session_id).bind(2, at).bind(3, to_string(state)).bind(4, reason);
  return insert->run();
}

Result<std::vector<SessionEvent>> SqlStore::session_events(const std::string& id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query =
      db.prepare("SELECT at, state, reason FROM session_events WHERE session_id = ?1 ORDER BY id");
  if (!query) return query.error();
  query->bind(1, id);
  return query->collect<SessionEvent>([](const Statement& row) {
    return SessionEvent{row.column_int(0),
                        parse_session_state(row.column_text(1)).value_or(SessionState::ended),
                        row.column_text(2)};
  });
}

Status SqlStore::save_start_log(const std::string& session_id, const std::string& text) {
  auto insert = db_.prepare(
      "INSERT INTO session_start_logs (session_id, text) VALUES (?1, ?2) "
      "ON CONFLICT (session_id) DO UPDATE SET text = excluded.text");
  if (!insert) return insert.error();
  insert->bind(1, session_id).bind(2, text);
  return insert->run();
}

Result<std::string> SqlStore::start_log(const std::string& session_id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare("SELECT text FROM session_start_logs WHERE session_id = ?1");
  if (!query) return query.error();
  query->bind(1, session_id);
  auto row = query->step();
  if (!row) return row.error();
  return *row ? query->column_text(0) : std::string();
}

Result<std::optional<KeyedSessionRequest>> SqlStore::find_session_request(std::int64_t user_id,
                                                                          const std::string& key,
                                                                          UnixMillis since) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      "SELECT request_digest, session_id, created_at FROM session_requests "
      "WHERE user_id = ?1 AND idempotency_key = ?2 AND created_at >= ?3");
  if (!query) return query.error();
  query->bind(1, user_id).bind(2, key).bind(3, since);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<KeyedSessionRequest>{};
  return std::optional<KeyedSessionRequest>{KeyedSessionRequest{
      user_id, key, query->column_text(0), query->column_text(1), query->column_int(2)}};
}

Status SqlStore::record_session_request(const KeyedSessionRequest& request) {
  Lock lock(mutex_);
  // An expired row with the same key gives way to the new one.
  auto insert = db_.prepare(
      "INSERT INTO session_requests "
      "(user_id, idempotency_key, request_digest, session_id, created_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id, idempotency_key) DO UPDATE SET "
      "request_digest = excluded.request_digest, session_id = excluded.session_id, created_at = "
      "excluded.created_at");
  if (!insert) return insert.error();
  insert->bind(1, request.user_id)
      .bind(2, request.key)
      .bind(3, request.request_digest)
      .bind(4, request.session_id)
      .bind(5, request.created_at);
  return insert->run();
}

Status SqlStore::forget_session_requests(UnixMillis before) {
  Lock lock(mutex_);
  auto remove = db_.prepare("DELETE FROM session_requests WHERE created_at < ?1");
  if (!remove) return remove.error();
  remove->bind(1, before);
  return remove->run();
}

Status SqlStore::add_gpu_busy_seconds(const std::map<std::string, double>& by_session) {
  return in_transaction([&]() -> Status {
    for (const auto& [id, seconds] : by_session) {
      auto update =
          db_.prepare("UPDATE sessions SET gpu_busy_seconds = gpu_busy_seconds + ?2 WHERE id = ?1");
      if (!update) return update.error();
      update->bind(1, id).bind(2, seconds);
      GPUPOOL_TRY(update->run());
    }
    return {};
  });
}

}  // namespace gpupool
