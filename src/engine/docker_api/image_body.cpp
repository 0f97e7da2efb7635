#include "engine/docker_api/image_body.hpp"

#include <fmt/format.h>

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

std::string string_of(const json& object, const char* key) {
  auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

}  // namespace

ImageDetails image_details(const json& inspected) {
  ImageDetails details;
  details.id = string_of(inspected, "Id");
  if (auto size = inspected.find("Size"); size != inspected.end() && size->is_number_integer())
    details.size_bytes = size->get<std::int64_t>();
  auto config = inspected.find("Config");
  if (config == inspected.end() || !config->is_object()) return details;
  details.env = strings_of(*config, "Env");
  details.cmd = strings_of(*config, "Cmd");
  details.entrypoint = strings_of(*config, "Entrypoint");
  details.user = string_of(*config, "User");
  details.working_dir = string_of(*config, "WorkingDir");
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

Result<std::string> upper_dir(const json& inspected_container) {
  auto driver = inspected_container.find("GraphDriver");
  if (driver == inspected_container.end() || !driver->is_object())
    return make_error(ErrorCode::unavailable, "the engine does not say where containers write");
  std::string name = string_of(*driver, "Name");
  auto data = driver->find("Data");
  if ((name != "overlay2" && name != "overlay") || data == driver->end() || !data->is_object()) {
    return make_error(ErrorCode::unavailable,
                      fmt::format("saving a session as an image needs the engine's overlay2 "
                                  "storage driver; this engine uses \"{}\"",
                                  name));
  }
  std::string upper = string_of(*data, "UpperDir");
  if (upper.empty() || !upper.starts_with("/"))
    return make_error(ErrorCode::unavailable,
                      "the engine does not name the container's upper directory");
  return upper;
}

}  // namespace gpupool::docker_api
