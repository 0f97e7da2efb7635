// SqlStore: prices and the append-only ledger.
#include <nlohmann/json.hpp>

#include <algorithm>

#include <fmt/format.h>

#include "store/sql/sql_store.hpp"

namespace gpupool {

using Lock = std::lock_guard<std::recursive_mutex>;
using sql::Statement;

Status SqlStore::set_price(const Price& price) {
  Lock lock(mutex_);
  auto upsert = db_.prepare(
      "INSERT INTO prices (gpu_model, micros_per_gpu_hour, updated_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (gpu_model) DO UPDATE SET micros_per_gpu_hour = excluded.micros_per_gpu_hour, "
      "updated_at = excluded.updated_at");
  if (!upsert) return upsert.error();
  upsert->bind(1, price.gpu_model).bind(2, price.micros_per_gpu_hour).bind(3, price.updated_at);
  return upsert->run();
}

Result<std::vector<Price>> SqlStore::list_prices() {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
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

Result<bool> SqlStore::add_ledger_entry(LedgerEntry& entry) {
  Lock lock(mutex_);
  // The unique indexes make a repeat a no-op rather than a second entry.
  auto insert = db_.prepare(
      "INSERT INTO ledger (user_id, at, kind, amount_micros, session_id, idempotency_key, note) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING RETURNING id");
  if (!insert) return insert.error();
  insert->bind(1, entry.user_id)
      .bind(2, entry.at)
      .bind(3, to_string(entry.kind))
      .bind(4, entry.amount_micros)
      .bind(7, entry.note);
  if (!entry.session_id.empty()) insert->bind(5, entry.session_id);
  if (!entry.idempotency_key.empty()) insert->bind(6, entry.idempotency_key);
  auto inserted = insert->step();
  if (!inserted) return inserted.error();
  if (!*inserted) return false;
  entry.id = insert->column_int(0);
  GPUPOOL_TRY(insert->run());
  return true;
}

Result<std::optional<LedgerEntry>> SqlStore::find_ledger_entry(std::int64_t user_id,
                                                               const std::string& key) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(fmt::format(
      "SELECT {} FROM ledger WHERE user_id = ?1 AND idempotency_key = ?2", kLedgerColumns));
  if (!query) return query.error();
  query->bind(1, user_id).bind(2, key);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<LedgerEntry>{};
  return std::optional<LedgerEntry>{read_ledger_entry(*query)};
}

Result<std::int64_t> SqlStore::ledger_sum(std::int64_t user_id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare("SELECT coalesce(sum(amount_micros), 0) FROM ledger WHERE user_id = ?1");
  if (!query) return query.error();
  query->bind(1, user_id);
  auto row = query->step();
  if (!row) return row.error();
  return query->column_int(0);
}

Result<std::map<LedgerKind, std::int64_t>> SqlStore::ledger_totals() {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare("SELECT kind, sum(amount_micros) FROM ledger GROUP BY kind");
  if (!query) return query.error();
  std::map<LedgerKind, std::int64_t> totals;
  while (true) {
    auto row = query->step();
    if (!row) return row.error();
    if (!*row) break;
    if (auto kind = parse_ledger_kind(query->column_text(0))) totals[*kind] = query->column_int(1);
  }
  return totals;
}

Result<std::vector<LedgerEntry>> SqlStore::ledger(std::int64_t user_id, int newest) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(fmt::format(
      "SELECT {} FROM ledger WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2", kLedgerColumns));
  if (!query) return query.error();
  query->bind(1, user_id).bind(2, newest);
  return query->collect<LedgerEntry>([](const Statement& row) { return read_ledger_entry(row); });
}

Result<std::vector<LedgerEntry>> SqlStore::ledger_between(std::optional<std::int64_t> user_id,
                                                          UnixMillis from, UnixMillis to) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(fmt::format(
      "SELECT {} FROM ledger WHERE (CAST(?1 AS BIGINT) IS NULL OR user_id = ?1) AND at >= ?2 AND "
      "at < ?3 ORDER BY at, id",
      kLedgerColumns));
  if (!query) return query.error();
  query->bind(1, user_id).bind(2, from).bind(3, to);
  return query->collect<LedgerEntry>([](const Statement& row) { return read_ledger_entry(row); });
}

Result<std::int64_t> SqlStore::ledger_sum_before(std::int64_t user_id, UnixMillis before) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      "SELECT coalesce(sum(amount_micros), 0) FROM ledger WHERE user_id = ?1 AND at < ?2");
  if (!query) return query.error();
  query->bind(1, user_id).bind(2, before);
  auto row = query->step();
  if (!row) return row.error();
  return query->column_int(0);
}

}  // namespace gpupool
