// Datasets (admins): directories every node has, lent read-only to groups' members.
//   GET /api/v1/datasets
//   PUT /api/v1/datasets/{dataset} {"path": "/srv/datasets/imagenet", "groups": ["vision"]}
//   DELETE /api/v1/datasets/{dataset}
// A change reaches sessions started after it; running ones keep what they were given.
#include "api/api.hpp"
#include "core/json_input.hpp"
#include "gateway/replies.hpp"
#include "model/dataset.hpp"

namespace gpupool::api {

using nlohmann::json;

namespace {

json dataset_view(const Dataset& dataset) {
  return {{"name", dataset.name},
          {"path", dataset.host_path},
          {"mounted_at", std::string(kDatasetsMountRoot) + "/" + dataset.name},
          {"groups", dataset.groups},
          {"created_at", format_rfc3339(dataset.created_at)}};
}

}  // namespace

HttpReply Api::list_datasets(const Call&) {
  auto datasets = directory_.datasets();
  if (!datasets) return error_reply(datasets.error());
  json list = json::array();
  for (const auto& dataset : *datasets) list.push_back(dataset_view(dataset));
  return json_reply(200, {{"datasets", list}});
}

HttpReply Api::put_dataset(const Call& call) {
  auto body = parse_json_object(call.exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"path", "groups"});
  if (!known) return error_reply(known.error());
  auto path = required_string(*body, "path", 1024);
  if (!path) return error_reply(path.error());
  auto groups = required_string_array(*body, "groups", 1000, 64);
  if (!groups) return error_reply(groups.error());
  auto dataset = directory_.put_dataset(call.parameter("dataset"), *path, *groups);
  if (!dataset) return error_reply(dataset.error());
  return json_reply(200, dataset_view(*dataset));
}

HttpReply Api::delete_dataset(const Call& call) {
  auto deleted = directory_.delete_dataset(call.parameter("dataset"));
  if (!deleted) return error_reply(deleted.error());
  return json_reply(200, {{"name", call.parameter("dataset")}, {"deleted", true}});
}

}  // namespace gpupool::api
