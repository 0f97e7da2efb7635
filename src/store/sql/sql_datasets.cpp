// SqlStore: datasets and the groups they are lent to.
#include <map>

#include "store/sql/sql_store.hpp"

namespace gpupool {

using Lock = std::lock_guard<std::recursive_mutex>;
using sql::Statement;

namespace {

// One row per dataset and group (a dataset lent to no group has one, with a NULL group).
constexpr const char* kDatasetRows =
    "SELECT datasets.name, datasets.host_path, datasets.created_at, groups.name FROM datasets "
    "LEFT JOIN dataset_groups ON dataset_groups.dataset = datasets.name "
    "LEFT JOIN groups ON groups.id = dataset_groups.group_id";

std::vector<Dataset> gather(const std::vector<Dataset>& rows) {
  std::map<std::string, Dataset> by_name;
  for (const auto& row : rows) {
    auto [entry, added] = by_name.try_emplace(row.name, row);
    if (!added)
      entry->second.groups.insert(entry->second.groups.end(), row.groups.begin(), row.groups.end());
  }
  std::vector<Dataset> datasets;
  for (auto& [name, dataset] : by_name) datasets.push_back(std::move(dataset));
  return datasets;
}

Dataset read_row(const Statement& row) {
  Dataset dataset{row.column_text(0), row.column_text(1), {}, row.column_int(2)};
  if (std::string group = row.column_text(3); !group.empty()) dataset.groups.push_back(group);
  return dataset;
}

}  // namespace

Status SqlStore::put_dataset(const Dataset& dataset, const std::vector<std::int64_t>& group_ids) {
  return in_transaction([&]() -> Status {
    auto upsert = db_.prepare(
        "INSERT INTO datasets (name, host_path, created_at) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (name) DO UPDATE SET host_path = excluded.host_path");
    if (!upsert) return upsert.error();
    upsert->bind(1, dataset.name).bind(2, dataset.host_path).bind(3, dataset.created_at);
    GPUPOOL_TRY(upsert->run());
    auto clear = db_.prepare("DELETE FROM dataset_groups WHERE dataset = ?1");
    if (!clear) return clear.error();
    clear->bind(1, dataset.name);
    GPUPOOL_TRY(clear->run());
    for (auto group_id : group_ids) {
      auto insert = db_.prepare(
          "INSERT INTO dataset_groups (dataset, group_id) VALUES (?1, ?2) "
          "ON CONFLICT DO NOTHING");
      if (!insert) return insert.error();
      insert->bind(1, dataset.name).bind(2, group_id);
      GPUPOOL_TRY(insert->run());
    }
    return {};
  });
}

Result<bool> SqlStore::delete_dataset(const std::string& name) {
  Lock lock(mutex_);
  auto remove = db_.prepare("DELETE FROM datasets WHERE name = ?1");
  if (!remove) return remove.error();
  remove->bind(1, name);
  GPUPOOL_TRY(remove->run());
  return db_.changes() > 0;
}

Result<std::vector<Dataset>> SqlStore::list_datasets() {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(std::string(kDatasetRows) + " ORDER BY datasets.name, groups.name");
  if (!query) return query.error();
  auto rows = query->collect<Dataset>(read_row);
  if (!rows) return rows.error();
  return gather(*rows);
}

Result<std::vector<Dataset>> SqlStore::datasets_of(std::int64_t user_id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      std::string(kDatasetRows) +
      " WHERE dataset_groups.group_id IN (SELECT group_id FROM group_members WHERE user_id = ?1)"
      " ORDER BY datasets.name, groups.name");
  if (!query) return query.error();
  query->bind(1, user_id);
  auto rows = query->collect<Dataset>(read_row);
  if (!rows) return rows.error();
  return gather(*rows);
}

}  // namespace gpupool
