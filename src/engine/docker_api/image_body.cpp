#include "engine/docker_api/image_body.hpp"

#include <fmt/format.h>

#include "core/json_input.hpp"

namespace gpupool::docker_api {

namespace {

using nlohmann::json;

std::vector<std::string> strings_of(const json& object, const char* key) {
  std::vector<std::string> values;
  auto found = object.find(key);
  if (found == object.end() || !found->is_array()) return values;
  for (const auto& item : *found) {
    if (item.is_string()) values.push_back(item.get<std::string>());
  }
  return values;
}

}  // namespace

ImageDetails image_details(const json& inspected) {
  ImageDetails details;
  details.id = string_member(inspected, "Id");
  if (auto size = inspected.find("Size"); size != inspected.end() && size->is_number_integer())
    details.size_bytes = size->get<std::int64_t>();
  auto config = inspected.find("Config");
  if (config == inspected.end() || !config->is_object()) return details;
  details.env = strings_of(*config, "Env");
  details.cmd = strings_of(*config, "Cmd");
  details.entrypoint = strings_of(*config, "Entrypoint");
  details.user = string_member(*config, "User");
  details.working_dir = string_member(*config, "WorkingDir");
  if (auto labels = config->find("Labels"); labels != config->end() && labels->is_object()) {
    for (const auto& [key, value] : labels->items()) {
      if (value.is_string()) details.labels[key] = value.get<std::string>();
    }
  }
  return details;
}

json commit_body(const ImageDetails& config) {
  std::vector<std::string> cmd = config.cmd;
  if (cmd.empty() && config.entrypoint.empty()) cmd = {"/bin/sh"};
  json body = {{"Env", config.env},
               {"Cmd", cmd},
               {"User", config.user.empty() ? "0" : config.user},
               {"WorkingDir", config.working_dir.empty() ? "/" : config.working_dir},
               {"Labels", config.labels}};
  if (!config.entrypoint.empty()) body["Entrypoint"] = config.entrypoint;
  return body;
}

EngineDiskUsage disk_usage(const json& df) {
  EngineDiskUsage usage;
  auto integer = [](const json& object, const char* key) -> std::int64_t {
    auto found = object.find(key);
    return found != object.end() && found->is_number_integer()
               ? std::max<std::int64_t>(0, found->get<std::int64_t>())
               : 0;
  };
  usage.images_bytes = integer(df, "LayersSize");
  if (auto images = df.find("Images"); images != df.end() && images->is_array()) {
    for (const auto& item : *images) {
      if (!item.is_object()) continue;
      EngineImage image{string_member(item, "Id"), strings_of(item, "RepoTags"),
                        strings_of(item, "RepoDigests"), integer(item, "Size"),
                        static_cast<int>(integer(item, "Containers"))};
      std::erase(image.tags, "<none>:<none>");
      std::erase(image.digests, "<none>@<none>");
      usage.images.push_back(std::move(image));
    }
  }
  if (auto containers = df.find("Containers"); containers != df.end() && containers->is_array()) {
    for (const auto& item : *containers)
      if (item.is_object()) usage.containers_bytes += integer(item, "SizeRw");
  }
  if (auto volumes = df.find("Volumes"); volumes != df.end() && volumes->is_array()) {
    for (const auto& item : *volumes) {
      auto data = item.is_object() ? item.find("UsageData") : item.end();
      if (item.is_object() && data != item.end() && data->is_object())
        usage.volumes_bytes += integer(*data, "Size");
    }
  }
  return usage;
}

Result<std::string> upper_dir(const json& inspected_container) {
  auto driver = inspected_container.find("GraphDriver");
  if (driver == inspected_container.end() || !driver->is_object())
    return make_error(ErrorCode::unavailable, "the engine does not say where containers write");
  std::string name = string_member(*driver, "Name");
  auto data = driver->find("Data");
  if ((name != "overlay2" && name != "overlay") || data == driver->end() || !data->is_object()) {
    return make_error(ErrorCode::unavailable,
                      fmt::format("saving a session as an image needs the engine's overlay2 "
                                  "storage driver; this engine uses \"{}\"",
                                  name));
  }
  std::string upper = string_member(*data, "UpperDir");
  if (upper.empty() || !upper.starts_with("/"))
    return make_error(ErrorCode::unavailable,
                      "the engine does not name the container's upper directory");
  return upper;
}

}  // namespace gpupool::docker_api
