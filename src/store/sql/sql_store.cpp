#include "store/sql/sql_store.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

#include "core/log.hpp"

namespace gpupool {

using Lock = std::lock_guard<std::recursive_mutex>;
using sql::Statement;

std::string names_to_json(const std::vector<std::string>& names) {
  return nlohmann::json(names).dump();
}

std::vector<std::string> names_from_json(const std::string& text) {
  std::vector<std::string> names;
  auto list = nlohmann::json::parse(text, nullptr, false);
  if (!list.is_array()) return names;
  for (const auto& name : list)
    if (name.is_string()) names.push_back(name.get<std::string>());
  return names;
}

namespace {

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

// Listing a thousand nodes for every scheduling pass was mostly parsing their GPU lists anew,
// and a node's list rarely changes: parsed lists are kept by their text (a pure function's
// memo, so every store may share it).
std::vector<GpuDevice> gpus_of(const std::string& text) {
  static std::mutex mutex;
  static std::unordered_map<std::string, std::vector<GpuDevice>> parsed;
  constexpr std::size_t kKept = 16384;
  std::lock_guard lock(mutex);
  if (auto found = parsed.find(text); found != parsed.end()) return found->second;
  if (parsed.size() >= kKept) parsed.clear();
  return parsed.emplace(text, gpus_from_json(text)).first->second;
}

}  // namespace

sql::Database& SqlStore::for_reading(ReadLock& lock) {
  if (!reader_ || transaction_thread_.load() == std::this_thread::get_id()) {
    lock = ReadLock(mutex_);
    return db_;
  }
  lock = ReadLock(read_mutex_);
  return *reader_;
}

Status SqlStore::migrate() {
  Lock lock(mutex_);
  auto current = schema_version();
  if (!current) return current.error();
  int newest = migrations::all().empty() ? 0 : migrations::all().back().version;
  if (*current > newest) {
    return make_error(ErrorCode::unavailable,
                      fmt::format("database schema version {} is newer than this gpupool ({}); "
                                  "refusing to start",
                                  *current, newest));
  }
  created_ = *current == 0;
  if (*current > 0 && *current < newest) GPUPOOL_TRY(before_upgrade(*current, newest));
  for (const auto& migration : migrations::all()) {
    if (migration.version <= *current) continue;
    auto applied = in_transaction([&]() -> Status {
      // Another server may have applied it meanwhile: the version is read under the lock.
      auto now_at = schema_version();
      if (!now_at) return now_at.error();
      if (*now_at >= migration.version) return {};
      GPUPOOL_TRY(db_.execute(migration_text(migration)));
      return set_schema_version(migration.version);
    });
    if (!applied) {
      return make_error(applied.error().code, fmt::format("migration {} failed: {}", migration.name,
                                                          applied.error().message));
    }
  }
  return {};
}

Status SqlStore::in_transaction(const std::function<Status()>& work) {
  Lock lock(mutex_);
  if (transaction_depth_ > 0) {
    ++transaction_depth_;
    auto result = work();
    --transaction_depth_;
    return result;
  }
  GPUPOOL_TRY(begin_transaction());
  transaction_depth_ = 1;
  transaction_thread_ = std::this_thread::get_id();
  auto result = check_transaction();
  if (result) result = work();
  transaction_thread_ = std::thread::id{};
  transaction_depth_ = 0;
  if (!result) {
    (void)db_.execute("ROLLBACK");
    return result;
  }
  auto committed = db_.execute("COMMIT");
  if (!committed) (void)db_.execute("ROLLBACK");
  return committed;
}

Status SqlStore::upsert_node(const Node& node) {
  Lock lock(mutex_);
  auto statement = db_.prepare(
      "INSERT INTO nodes (name, address, gpus, cpus, memory_mb, port_min, port_max, driver_cuda, "
      "simulated, last_seen, labels, jupyter_host, shared_homes, app_relay_port, engine, "
      "gpu_devices) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) "
      "ON "
      "CONFLICT (name) "
      "DO UPDATE SET address = excluded.address, gpus = excluded.gpus, cpus = excluded.cpus, "
      "memory_mb = excluded.memory_mb, port_min = excluded.port_min, port_max = "
      "excluded.port_max, driver_cuda = excluded.driver_cuda, simulated = excluded.simulated, "
      "last_seen = excluded.last_seen, labels = excluded.labels, jupyter_host = "
      "excluded.jupyter_host, shared_homes = excluded.shared_homes, app_relay_port = "
      "excluded.app_relay_port, engine = excluded.engine, gpu_devices = excluded.gpu_devices");
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
      .bind(12, node.jupyter_host)
      .bind(13, node.shared_homes)
      .bind(14, node.app_relay_port)
      .bind(15, node.engine)
      .bind(16, node.gpu_devices);
  return statement->run();
}

Status SqlStore::set_node_drained(const std::string& name, bool drained) {
  Lock lock(mutex_);
  auto statement = db_.prepare("UPDATE nodes SET drained = ?2 WHERE name = ?1");
  if (!statement) return statement.error();
  statement->bind(1, name).bind(2, drained);
  GPUPOOL_TRY(statement->run());
  if (db_.changes() == 0) return make_error(ErrorCode::not_found, "no node " + name);
  return {};
}

Result<std::vector<Node>> SqlStore::list_nodes() {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      "SELECT name, address, gpus, cpus, memory_mb, port_min, port_max, driver_cuda, simulated, "
      "drained, last_seen, labels, jupyter_host, "
      "EXISTS (SELECT 1 FROM node_credentials c WHERE c.node = nodes.name) AND NOT EXISTS "
      "(SELECT 1 FROM node_credentials c WHERE c.node = nodes.name AND c.revoked_at = 0), "
      "shared_homes, app_relay_port, engine, gpu_devices FROM nodes ORDER BY name");
  if (!query) return query.error();
  return query->collect<Node>([](const Statement& row) {
    return Node{
        row.column_text(0),
        row.column_text(1),
        gpus_of(row.column_text(2)),
        static_cast<int>(row.column_int(3)),
        row.column_int(4),
        static_cast<int>(row.column_int(5)),
        static_cast<int>(row.column_int(6)),
        row.column_text(7),
        row.column_int(8) != 0,
        row.column_int(9) != 0,
        nlohmann::json::parse(row.column_text(11)).get<std::map<std::string, std::string>>(),
        row.column_int(10),
        row.column_text(12),
        row.column_int(13) != 0,
        row.column_int(14) != 0,
        static_cast<int>(row.column_int(15)),
        row.column_text(16),
        row.column_text(17)};
  });
}

}  // namespace gpupool
