// SqlStore: sessions run as Slurm jobs.
#include "store/sql/sql_store.hpp"

namespace gpupool {

namespace {

BatchJob read_batch_job(const sql::Statement& row) {
  return BatchJob{row.column_text(0), row.column_int(1), row.column_text(2), row.column_int(3)};
}

constexpr const char* kColumns = "b.session_id, b.job_id, b.secret_hash, b.submitted_at";

}  // namespace

Status SqlStore::add_batch_job(const BatchJob& job) {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  auto insert = db_.prepare(
      "INSERT INTO batch_jobs (session_id, job_id, secret_hash, submitted_at) VALUES (?1, ?2, "
      "?3, ?4)");
  if (!insert) return insert.error();
  insert->bind(1, job.session_id)
      .bind(2, job.job_id)
      .bind(3, job.secret_hash)
      .bind(4, job.submitted_at);
  return insert->run();
}

Result<std::optional<BatchJob>> SqlStore::find_batch_job(const std::string& session_id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query =
      db.prepare(std::string("SELECT ") + kColumns + " FROM batch_jobs b WHERE b.session_id = ?1");
  if (!query) return query.error();
  query->bind(1, session_id);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<BatchJob>{};
  return std::optional<BatchJob>{read_batch_job(*query)};
}

Result<std::vector<BatchJob>> SqlStore::list_active_batch_jobs() {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(std::string("SELECT ") + kColumns +
                          " FROM batch_jobs b JOIN sessions s ON s.id = b.session_id WHERE "
                          "s.state != 'ended' ORDER BY b.job_id");
  if (!query) return query.error();
  return query->collect<BatchJob>(read_batch_job);
}

}  // namespace gpupool
