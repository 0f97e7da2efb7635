// SqlStore: the pool over time, a sample a minute for the portal's charts.
#include "store/sql/sql_store.hpp"

namespace gpupool {

Status SqlStore::add_pool_sample(const PoolSample& sample, UnixMillis keep_since) {
  return in_transaction([&]() -> Status {
    auto insert = db_.prepare(
        "INSERT INTO pool_samples (at, gpus, allocated, busy) VALUES (?1, ?2, ?3, ?4) ON "
        "CONFLICT (at) DO UPDATE SET gpus = excluded.gpus, allocated = excluded.allocated, busy "
        "= excluded.busy");
    if (!insert) return insert.error();
    insert->bind(1, sample.at).bind(2, sample.gpus).bind(3, sample.allocated).bind(4, sample.busy);
    GPUPOOL_TRY(insert->run());
    auto trim = db_.prepare("DELETE FROM pool_samples WHERE at < ?1");
    if (!trim) return trim.error();
    trim->bind(1, keep_since);
    return trim->run();
  });
}

Result<std::vector<PoolSample>> SqlStore::pool_samples(UnixMillis from, UnixMillis to) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      "SELECT at, gpus, allocated, busy FROM pool_samples WHERE at >= ?1 AND at < ?2 ORDER BY at");
  if (!query) return query.error();
  query->bind(1, from).bind(2, to);
  return query->collect<PoolSample>([](const sql::Statement& row) {
    return PoolSample{row.column_int(0), row.column_double(1), row.column_double(2),
                      row.column_double(3)};
  });
}

}  // namespace gpupool
