// ContainerEngine over the Docker Engine API, HTTP/1.1 on a unix socket.
//
// Every call opens its own connection (core/http_client), so parallel session starts never
// queue behind each other inside gpupool.
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/json_input.hpp"
#include "engine/container_engine.hpp"
#include "engine/docker_api/container_status.hpp"
#include "engine/docker_api/create_body.hpp"
#include "engine/docker_api/engine_identity.hpp"
#include "engine/docker_api/image_body.hpp"
#include "engine/docker_api/log_stream.hpp"
#include "engine/docker_api/network_body.hpp"
#include "engine/docker_api/pull_progress.hpp"
#include "engine/docker_api/registry_auth.hpp"
#include "engine/docker_api/tar.hpp"
#include "net/http_client.hpp"

namespace gpupool {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using net::url_encode;

constexpr std::string_view kApiPrefix = "/v1.41";

class DockerApiEngine final : public ContainerEngine {
 public:
  explicit DockerApiEngine(net::HttpEndpoint endpoint) : endpoint_(std::move(endpoint)) {}

  Result<EngineIdentity> identify() override {
    auto response = call("GET", "/version", "", 5s);
    if (!response) return response.error();
    auto version = json::parse(response->body, nullptr, false);
    if (response->status != 200 || !version.is_object()) return engine_error("version", *response);
    // /info at the newest API the engine speaks: what it says of CDI came after v1.41.
    std::string api = string_member(version, "ApiVersion");
    bool plain = !api.empty() && api.find_first_not_of("0123456789.") == std::string::npos;
    json info;
    auto answer = net::http_call(
        endpoint_,
        {"GET", plain ? "/v" + api + "/info" : std::string(kApiPrefix) + "/info", "", {}}, 10s);
    if (answer && answer->status == 200) info = json::parse(answer->body, nullptr, false);
    return docker_api::engine_identity(version, info.is_discarded() ? json() : info);
  }

  Result<bool> image_present(const std::string& reference) override {
    auto response = call("GET", "/images/" + url_encode(reference) + "/json", "", 10s);
    if (!response) return response.error();
    if (response->status == 404) return false;
    if (response->status != 200) return engine_error("image inspect", *response);
    return true;
  }

  Status pull_image(const std::string& reference, const RegistryCredentials& credentials,
                    const PullWatcher& watcher) override {
    net::HttpRequest request{
        "POST", std::string(kApiPrefix) + docker_api::pull_target(reference), "", {}};
    if (!credentials.empty()) {
      request.headers.emplace_back(
          "X-Registry-Auth",
          docker_api::registry_auth_header(credentials, docker_api::registry_of(reference)));
    }
    docker_api::PullProgress progress;
    std::string last_said;
    auto sink = [&](std::string_view chunk) {
      progress.feed_chunk(chunk);
      std::string said = progress.describe();
      if (said == last_said) return true;
      last_said = said;
      return watcher(said);
    };
    // The engine says something at least every few seconds while a pull goes on, even while
    // it waits to retry a registry; silence this long means it is stuck.
    auto response = net::http_stream(endpoint_, request, 5min, sink);
    if (!response) return response.error();
    if (response->status != 200) return engine_error("image pull", *response);
    progress.finish();
    // The registry's refusal comes inside a 200 answer, as the stream's last line.
    if (progress.failed())
      return make_error(ErrorCode::unavailable, "pulling " + reference + ": " + progress.error());
    return {};
  }

  Result<std::string> push_image(const std::string& repository, const std::string& tag,
                                 const RegistryCredentials& credentials) override {
    net::HttpRequest request{"POST",
                             std::string(kApiPrefix) + "/images/" + url_encode(repository) +
                                 "/push?tag=" + url_encode(tag),
                             "",
                             {}};
    // A push needs the header even without a login: the engine reads the body otherwise.
    std::string auth =
        docker_api::registry_auth_header(credentials, docker_api::registry_of(repository));
    request.headers.emplace_back("X-Registry-Auth", auth.empty() ? "e30=" : auth);  // "{}"
    docker_api::PullProgress progress;  // a push's stream speaks the same JSON lines
    auto sink = [&](std::string_view chunk) {
      progress.feed_chunk(chunk);
      return true;
    };
    auto response = net::http_stream(endpoint_, request, 5min, sink);
    if (!response) return response.error();
    if (response->status != 200) return engine_error("image push", *response);
    progress.finish();
    std::string reference = repository + ":" + tag;
    if (progress.failed())
      return make_error(ErrorCode::unavailable, "pushing " + reference + ": " + progress.error());
    if (progress.digest().empty())
      return make_error(ErrorCode::unavailable,
                        "pushing " + reference + ": the engine did not say which digest");
    return progress.digest();
  }

  Result<ImageDetails> inspect_image(const std::string& reference) override {
    auto response = call("GET", "/images/" + url_encode(reference) + "/json", "", 10s);
    if (!response) return response.error();
    auto body = json::parse(response->body, nullptr, false);
    if (response->status != 200 || !body.is_object())
      return engine_error("image inspect", *response);
    return docker_api::image_details(body);
  }

  Status remove_image(const std::string& reference) override {
    auto response = call("DELETE", "/images/" + url_encode(reference), "", 60s);
    if (!response) return response.error();
    if (response->status != 200 && response->status != 404)
      return engine_error("image remove", *response);
    return {};
  }

  Result<std::string> commit_container(const std::string& id, const std::string& repository,
                                       const std::string& tag,
                                       const ImageDetails& config) override {
    auto response = call("POST",
                         "/commit?container=" + url_encode(id) + "&repo=" + url_encode(repository) +
                             "&tag=" + url_encode(tag) + "&pause=false",
                         docker_api::commit_body(config).dump(), 10min);
    if (!response) return response.error();
    auto body = json::parse(response->body, nullptr, false);
    if (response->status != 201 || !body.is_object() || !body.contains("Id"))
      return engine_error("container commit", *response);
    return body["Id"].get<std::string>();
  }

  Result<std::string> writable_layer_dir(const std::string& id) override {
    auto response = call("GET", "/containers/" + url_encode(id) + "/json", "", 10s);
    if (!response) return response.error();
    auto body = json::parse(response->body, nullptr, false);
    if (response->status != 200 || !body.is_object())
      return engine_error("container inspect", *response);
    return docker_api::upper_dir(body);
  }

  Result<EngineDiskUsage> disk_usage() override {
    auto response = call("GET", "/system/df", "", 120s);
    if (!response) return response.error();
    auto body = json::parse(response->body, nullptr, false);
    if (response->status != 200 || !body.is_object()) return engine_error("disk usage", *response);
    EngineDiskUsage usage = docker_api::disk_usage(body);
    auto info = call("GET", "/info", "", 10s);
    if (!info || info->status != 200) return usage;
    auto root = json::parse(info->body, nullptr, false);
    if (!root.is_object() || !root.contains("DockerRootDir") || !root["DockerRootDir"].is_string())
      return usage;
    struct statvfs space {};
    if (statvfs(root["DockerRootDir"].get<std::string>().c_str(), &space) == 0) {
      usage.free_bytes = static_cast<std::int64_t>(space.f_bavail) * space.f_frsize;
      usage.total_bytes = static_cast<std::int64_t>(space.f_blocks) * space.f_frsize;
    }
    return usage;
  }

  Result<std::vector<ImageInfo>> list_images(const std::string& label_key) override {
    json filters = {{"label", json::array({label_key})}};
    auto response = call("GET", "/images/json?filters=" + url_encode(filters.dump()), "", 30s);
    if (!response) return response.error();
    auto body = json::parse(response->body, nullptr, false);
    if (response->status != 200 || !body.is_array()) return engine_error("image list", *response);
    std::vector<ImageInfo> images;
    for (const auto& item : body) {
      if (!item.contains("RepoTags") || !item["RepoTags"].is_array() || item["RepoTags"].empty())
        continue;
      ImageInfo info{item["RepoTags"][0].get<std::string>(), {}};
      if (item.contains("Labels") && item["Labels"].is_object()) {
        info.labels = item["Labels"].get<std::map<std::string, std::string>>();
      }
      images.push_back(std::move(info));
    }
    return images;
  }

  Status ensure_volume(const std::string& name,
                       const std::map<std::string, std::string>& labels) override {
    json body = {{"Name", name}, {"Labels", labels}};
    auto response = call("POST", "/volumes/create", body.dump(), 30s);
    if (!response) return response.error();
    // Creating an existing volume answers 201 with the existing one: idempotent.
    if (response->status != 201 && response->status != 200)
      return engine_error("volume create", *response);
    return {};
  }

  Result<std::string> create_container(const ContainerSpec& spec) override {
    auto response = call("POST", "/containers/create?name=" + url_encode(spec.name),
                         docker_api::create_body(spec).dump(), 60s);
    if (!response) return response.error();
    if (response->status == 409) {
      return make_error(ErrorCode::conflict, fmt::format("container {} already exists", spec.name));
    }
    auto body = json::parse(response->body, nullptr, false);
    if (response->status != 201 || body.is_discarded() || !body.contains("Id")) {
      return engine_error("container create", *response);
    }
    return body["Id"].get<std::string>();
  }

  Status start_container(const std::string& id) override {
    auto response = call("POST", "/containers/" + url_encode(id) + "/start", "", 60s);
    if (!response) return response.error();
    if (response->status != 204 && response->status != 304)
      return engine_error("container start", *response);
    return {};
  }

  Result<ContainerStatus> inspect_container(const std::string& id_or_name) override {
    auto response = call("GET", "/containers/" + url_encode(id_or_name) + "/json", "", 10s);
    if (!response) return response.error();
    auto body = json::parse(response->body, nullptr, false);
    if (response->status != 200 || !body.is_object() || !body["State"].is_object())
      return engine_error("container inspect", *response);
    return docker_api::container_status(body["State"]);
  }

  Result<std::string> read_file(const std::string& id_or_name, const std::string& path) override {
    auto response =
        call("GET", "/containers/" + url_encode(id_or_name) + "/archive?path=" + url_encode(path),
             "", 10s);
    if (!response) return response.error();
    if (response->status != 200) return engine_error("archive read", *response);
    return docker_api::single_file_from_tar(response->body, 64 * 1024);
  }

  Status write_file(const std::string& id_or_name, const std::string& directory,
                    const std::string& name, const std::string& content, unsigned mode) override {
    auto response =
        call("PUT",
             "/containers/" + url_encode(id_or_name) + "/archive?path=" + url_encode(directory) +
                 "&noOverwriteDirNonDir=true",
             docker_api::tar_of_single_file(name, content, mode), 10s,
             {{"Content-Type", "application/x-tar"}});
    if (!response) return response.error();
    if (response->status != 200) return engine_error("archive write", *response);
    return {};
  }

  Result<std::string> container_log(const std::string& id_or_name, int lines) override {
    auto response = call("GET",
                         "/containers/" + url_encode(id_or_name) +
                             "/logs?stdout=true&stderr=true&tail=" + std::to_string(lines),
                         "", 10s);
    if (!response) return response.error();
    if (response->status != 200) return engine_error("container logs", *response);
    return docker_api::demultiplexed_log(response->body);
  }

  Status remove_container(const std::string& id) override {
    auto response =
        call("DELETE", "/containers/" + url_encode(id) + "?force=true&v=false", "", 60s);
    if (!response) return response.error();
    if (response->status != 204 && response->status != 404)
      return engine_error("container remove", *response);
    return {};
  }

  Result<std::int64_t> cpu_time_nanos(const std::string& id) override {
    // one-shot: the engine's current figures, without waiting a second for a second sample.
    auto response =
        call("GET", "/containers/" + url_encode(id) + "/stats?stream=false&one-shot=true", "", 10s);
    if (!response) return response.error();
    auto body = json::parse(response->body, nullptr, false);
    if (response->status != 200 || !body.is_object())
      return engine_error("container stats", *response);
    const json* usage = &body;
    for (const char* key : {"cpu_stats", "cpu_usage", "total_usage"}) {
      if (!usage->is_object() || !usage->contains(key))
        return make_error(ErrorCode::unavailable, "container stats: no CPU usage reported");
      usage = &(*usage)[key];
    }
    if (!usage->is_number_unsigned() && !usage->is_number_integer())
      return make_error(ErrorCode::unavailable, "container stats: no CPU usage reported");
    return usage->get<std::int64_t>();
  }

  Result<std::vector<ContainerInfo>> list_containers(const std::string& label_filter) override {
    json filters = {{"label", json::array({label_filter})}};
    auto response =
        call("GET", "/containers/json?all=true&filters=" + url_encode(filters.dump()), "", 30s);
    if (!response) return response.error();
    auto body = json::parse(response->body, nullptr, false);
    if (response->status != 200 || !body.is_array())
      return engine_error("container list", *response);
    std::vector<ContainerInfo> containers;
    for (const auto& item : body) {
      ContainerInfo info;
      info.id = string_member(item, "Id");
      if (item.contains("Names") && !item["Names"].empty()) {
        info.name = item["Names"][0].get<std::string>();
        if (info.name.starts_with("/")) info.name.erase(0, 1);
      }
      if (item.contains("Labels") && item["Labels"].is_object()) {
        info.labels = item["Labels"].get<std::map<std::string, std::string>>();
      }
      info.state = string_member(item, "State");
      info.image = string_member(item, "Image");
      info.ipv4 = docker_api::first_ipv4(item);
      containers.push_back(std::move(info));
    }
    return containers;
  }

  Status create_network(const NetworkSpec& spec) override {
    auto response = call("POST", "/networks/create", docker_api::network_body(spec).dump(), 30s);
    if (!response) return response.error();
    if (response->status == 201) return {};
    // A taken name answers 409; an overlapping subnet 403 (20.10) or 400/409 (later engines).
    auto error = engine_error("network create", *response);
    if (response->status == 409 || response->status == 403 ||
        error.message.find("overlap") != std::string::npos)
      error.code = ErrorCode::conflict;
    return error;
  }

  Status remove_network(const std::string& name) override {
    auto response = call("DELETE", "/networks/" + url_encode(name), "", 30s);
    if (!response) return response.error();
    if (response->status != 204 && response->status != 404)
      return engine_error("network remove", *response);
    return {};
  }

  Result<std::vector<NetworkInfo>> list_networks() override {
    auto response = call("GET", "/networks", "", 30s);
    if (!response) return response.error();
    auto body = json::parse(response->body, nullptr, false);
    if (response->status != 200 || !body.is_array()) return engine_error("network list", *response);
    std::vector<NetworkInfo> networks;
    for (const auto& item : body) networks.push_back(docker_api::network_info(item));
    return networks;
  }

 private:
  Result<net::HttpResponse> call(const std::string& method, const std::string& path,
                                 std::string body, std::chrono::milliseconds timeout,
                                 std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::HttpRequest request{method, std::string(kApiPrefix) + path, std::move(body),
                             std::move(headers)};
    return net::http_call(endpoint_, request, timeout);
  }

  static Error engine_error(std::string_view what, const net::HttpResponse& response) {
    auto body = json::parse(response.body, nullptr, false);
    std::string message = string_member(body, "message", response.body);
    return make_error(
        response.status == 404 ? ErrorCode::not_found : ErrorCode::unavailable,
        fmt::format("engine {} failed ({}): {}", what, response.status, message.substr(0, 500)));
  }

  const net::HttpEndpoint endpoint_;
};

bool is_socket(const std::string& path) {
  struct stat info {};
  return stat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode);
}

}  // namespace

Result<std::unique_ptr<ContainerEngine>> make_docker_api_engine(const std::string& address) {
  auto endpoint = net::parse_http_endpoint(address);
  if (!endpoint) return endpoint.error();
  if (!endpoint->is_unix) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("engine address \"{}\" must be unix:///path/to/socket", address));
  }
  return std::unique_ptr<ContainerEngine>(new DockerApiEngine(std::move(*endpoint)));
}

Result<std::string> detect_engine_address() {
  std::vector<std::string> candidates = {"/var/run/docker.sock", "/run/podman/podman.sock"};
  if (const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR")) {
    candidates.push_back(std::string(runtime_dir) + "/podman/podman.sock");
  }
  for (const auto& path : candidates) {
    if (!is_socket(path)) continue;
    auto engine = make_docker_api_engine("unix://" + path);
    if (engine && (*engine)->identify()) return "unix://" + path;
  }
  return make_error(ErrorCode::unavailable,
                    "no container engine answers at /var/run/docker.sock or Podman's socket; "
                    "start dockerd (or podman system service) or pass --engine unix:///path");
}

}  // namespace gpupool
