// SqlStore: sessions saved as images.
#include <fmt/format.h>

#include "store/sql/sql_store.hpp"

namespace gpupool {

using Lock = std::lock_guard<std::recursive_mutex>;

namespace {

// Binds ?2 … ?13 in the column order of add_image_save; ?1 is the id.
void bind_save(sql::Statement& statement, const ImageSave& save) {
  statement.bind(2, save.owner)
      .bind(3, save.name)
      .bind(4, save.session_id)
      .bind(5, save.node)
      .bind(6, save.base_tag)
      .bind(7, save.repository)
      .bind(8, save.version)
      .bind(9, std::string(to_string(save.state)))
      .bind(10, save.message)
      .bind(11, save.size_bytes)
      .bind(12, save.requested_at)
      .bind(13, save.finished_at);
}

}  // namespace

Status SqlStore::add_image_save(ImageSave& save) {
  Lock lock(mutex_);
  auto statement = db_.prepare(
      "INSERT INTO image_saves (owner, name, session_id, node, base_tag, repository, version, "
      "state, message, size_bytes, requested_at, finished_at) VALUES (?2, ?3, ?4, ?5, ?6, ?7, "
      "?8, ?9, ?10, ?11, ?12, ?13) RETURNING id");
  if (!statement) return statement.error();
  bind_save(*statement, save);
  auto inserted = statement->step();
  if (!inserted) return inserted.error();
  save.id = statement->column_int(0);
  return statement->run();
}

Status SqlStore::update_image_save(const ImageSave& save) {
  Lock lock(mutex_);
  auto statement = db_.prepare(
      "UPDATE image_saves SET owner = ?2, name = ?3, session_id = ?4, node = ?5, base_tag = ?6, "
      "repository = ?7, version = ?8, state = ?9, message = ?10, size_bytes = ?11, requested_at "
      "= ?12, finished_at = ?13 WHERE id = ?1");
  if (!statement) return statement.error();
  statement->bind(1, save.id);
  bind_save(*statement, save);
  GPUPOOL_TRY(statement->run());
  if (db_.changes() == 0)
    return make_error(ErrorCode::not_found, fmt::format("no image save {}", save.id));
  return {};
}

Result<std::vector<ImageSave>> SqlStore::list_image_saves(bool saving_only) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(fmt::format(
      "SELECT id, owner, name, session_id, node, base_tag, repository, version, state, message, "
      "size_bytes, requested_at, finished_at FROM image_saves {} ORDER BY id",
      saving_only ? "WHERE state = 'saving'" : ""));
  if (!query) return query.error();
  return query->collect<ImageSave>([](const sql::Statement& row) {
    ImageSave save{row.column_int(0),  row.column_text(1), row.column_text(2), row.column_text(3),
                   row.column_text(4), row.column_text(5), row.column_text(6), row.column_text(7)};
    save.state = parse_save_state(row.column_text(8)).value_or(SaveState::failed);
    save.message = row.column_text(9);
    save.size_bytes = row.column_int(10);
    save.requested_at = row.column_int(11);
    save.finished_at = row.column_int(12);
    return save;
  });
}

}  // namespace gpupool
