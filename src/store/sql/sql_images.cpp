// SqlStore: the image catalog.
#include <fmt/format.h>

#include "store/sql/sql_store.hpp"

namespace gpupool {

using Lock = std::lock_guard<std::recursive_mutex>;

namespace {

constexpr const char* kImageColumns =
    "tag, reference, framework, framework_version, cuda, cudnn, flavor, is_default, status, "
    "state, ssh, prepull, added_by, added_at, check_state, check_message, check_python, "
    "check_notebook, check_torch, check_torch_cuda, check_node, check_ordered_at, checked_at, "
    "owner, size_bytes, check_jupyterlab, check_code_server";

constexpr const char* kImagePlaceholders =
    "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, "
    "?21, ?22, ?23, ?24, ?25, ?26, ?27";

// Binds every column of kImageColumns, in its order, as ?1 … ?27.
void bind_image(sql::Statement& statement, const Image& image) {
  statement.bind(1, image.tag)
      .bind(2, image.reference)
      .bind(3, image.framework)
      .bind(4, image.framework_version)
      .bind(5, image.cuda)
      .bind(6, image.cudnn)
      .bind(7, image.flavor)
      .bind(8, image.is_default)
      .bind(9, image.status)
      .bind(10, std::string(to_string(image.state)))
      .bind(11, image.ssh)
      .bind(12, image.prepull)
      .bind(13, image.added_by)
      .bind(14, image.added_at)
      .bind(15, std::string(to_string(image.check.state)))
      .bind(16, image.check.message)
      .bind(17, image.check.python)
      .bind(18, image.check.notebook)
      .bind(19, image.check.torch)
      .bind(20, image.check.torch_cuda)
      .bind(21, image.check.node)
      .bind(22, image.check.ordered_at)
      .bind(23, image.check.checked_at)
      .bind(24, image.owner)
      .bind(25, image.size_bytes)
      .bind(26, image.check.jupyterlab)
      .bind(27, image.check.code_server);
}

Image image_from_row(const sql::Statement& row) {
  Image image{row.column_text(0), row.column_text(1),     row.column_text(2),
              row.column_text(3), row.column_text(4),     row.column_text(5),
              row.column_text(6), row.column_int(7) != 0, row.column_text(8)};
  image.state = parse_image_state(row.column_text(9)).value_or(ImageState::testing);
  image.ssh = row.column_int(10) != 0;
  image.prepull = row.column_int(11) != 0;
  image.added_by = row.column_text(12);
  image.added_at = row.column_int(13);
  image.check.state = parse_check_state(row.column_text(14)).value_or(CheckState::failed);
  image.check.message = row.column_text(15);
  image.check.python = row.column_text(16);
  image.check.notebook = row.column_text(17);
  image.check.torch = row.column_text(18);
  image.check.torch_cuda = row.column_text(19);
  image.check.node = row.column_text(20);
  image.check.ordered_at = row.column_int(21);
  image.check.checked_at = row.column_int(22);
  image.owner = row.column_text(23);
  image.size_bytes = row.column_int(24);
  image.check.jupyterlab = row.column_text(25);
  image.check.code_server = row.column_text(26);
  return image;
}

}  // namespace

Status SqlStore::upsert_image(const Image& image) {
  Lock lock(mutex_);
  auto statement = db_.prepare(fmt::format(
      "INSERT INTO images ({}) VALUES ({}) ON CONFLICT (tag) DO UPDATE "
      "SET reference = excluded.reference, framework = excluded.framework, framework_version = "
      "excluded.framework_version, cuda = excluded.cuda, cudnn = excluded.cudnn, flavor = "
      "excluded.flavor, is_default = excluded.is_default, status = excluded.status",
      kImageColumns, kImagePlaceholders));
  if (!statement) return statement.error();
  bind_image(*statement, image);
  return statement->run();
}

Status SqlStore::add_image(const Image& image) {
  Lock lock(mutex_);
  auto statement = db_.prepare(
      fmt::format("INSERT INTO images ({}) VALUES ({})", kImageColumns, kImagePlaceholders));
  if (!statement) return statement.error();
  bind_image(*statement, image);
  auto added = statement->run();
  if (!added && added.error().code == ErrorCode::conflict)
    return make_error(ErrorCode::conflict,
                      fmt::format("image \"{}\" is already in the catalog", image.tag));
  return added;
}

Status SqlStore::update_image(const Image& image) {
  Lock lock(mutex_);
  auto statement = db_.prepare(
      "UPDATE images SET reference = ?2, framework = ?3, framework_version = ?4, cuda = ?5, "
      "cudnn = ?6, flavor = ?7, is_default = ?8, status = ?9, state = ?10, ssh = ?11, prepull = "
      "?12, added_by = ?13, added_at = ?14, check_state = ?15, check_message = ?16, check_python "
      "= ?17, check_notebook = ?18, check_torch = ?19, check_torch_cuda = ?20, check_node = ?21, "
      "check_ordered_at = ?22, checked_at = ?23, owner = ?24, size_bytes = ?25, check_jupyterlab = "
      "?26, check_code_server = ?27 WHERE tag = ?1");
  if (!statement) return statement.error();
  bind_image(*statement, image);
  GPUPOOL_TRY(statement->run());
  if (db_.changes() == 0)
    return make_error(ErrorCode::not_found, fmt::format("no image \"{}\"", image.tag));
  return {};
}

Status SqlStore::delete_image(const std::string& tag) {
  Lock lock(mutex_);
  auto statement = db_.prepare("DELETE FROM images WHERE tag = ?1");
  if (!statement) return statement.error();
  statement->bind(1, tag);
  GPUPOOL_TRY(statement->run());
  if (db_.changes() == 0)
    return make_error(ErrorCode::not_found, fmt::format("no image \"{}\"", tag));
  return {};
}

Result<std::vector<Image>> SqlStore::list_images() {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(fmt::format("SELECT {} FROM images ORDER BY tag", kImageColumns));
  if (!query) return query.error();
  return query->collect<Image>(image_from_row);
}

}  // namespace gpupool
