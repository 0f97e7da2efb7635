#include "protocol/sync_json.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/json_input.hpp"
#include "model/dataset.hpp"

namespace gpupool::protocol {

namespace {

constexpr std::size_t kMaxText = 4096;       // a message, a host key, an image reference
constexpr std::size_t kMaxShortText = 256;   // names, addresses, ids
constexpr std::size_t kMaxListItems = 4096;  // ports, GPU indices, keys
constexpr std::size_t kMaxSessionsPerGpu = 256;
constexpr std::size_t kMaxLabels = 64;
constexpr std::size_t kMaxVersion = 64;  // a version an image check found

Error malformed(std::string_view what) {
  return make_error(ErrorCode::invalid_argument, fmt::format("sync message: {}", what));
}

// Reads one field, checked for type, size or range; a failure names the field.
class Reader {
 public:
  explicit Reader(const Json& object) : object_(object) {}

  std::string text(std::string_view key, std::size_t max_length = kMaxShortText) {
    const Json* value = find(key);
    if (value == nullptr) return {};
    if (!value->is_string()) return fail(key, "is not a string"), std::string{};
    const auto& text = value->get_ref<const std::string&>();
    if (text.size() > max_length) return fail(key, "is too long"), std::string{};
    return text;
  }
  std::int64_t integer(std::string_view key, std::int64_t min, std::int64_t max) {
    const Json* value = find(key);
    if (value == nullptr) return std::clamp<std::int64_t>(0, min, max);
    if (!value->is_number_integer()) return fail(key, "is not an integer"), min;
    auto number = value->get<std::int64_t>();
    if (number < min || number > max) return fail(key, "is out of range"), min;
    return number;
  }
  double number(std::string_view key, double min, double max) {
    const Json* value = find(key);
    if (value == nullptr) return min;
    if (!value->is_number()) return fail(key, "is not a number"), min;
    auto number = value->get<double>();
    if (!(number >= min && number <= max)) return fail(key, "is out of range"), min;
    return number;
  }
  bool flag(std::string_view key) {
    const Json* value = find(key);
    if (value == nullptr) return false;
    if (!value->is_boolean()) return fail(key, "is not true or false"), false;
    return value->get<bool>();
  }
  std::vector<int> integers(std::string_view key, int min, int max) {
    std::vector<int> list;
    for (const Json& item : array(key, kMaxListItems)) {
      if (!item.is_number_integer() || item.get<std::int64_t>() < min ||
          item.get<std::int64_t>() > max) {
        fail(key, "holds an item that is not an integer in range");
        return {};
      }
      list.push_back(item.get<int>());
    }
    return list;
  }
  std::vector<std::string> texts(std::string_view key, std::size_t max_length) {
    std::vector<std::string> list;
    for (const Json& item : array(key, kMaxListItems)) {
      if (!item.is_string() || item.get_ref<const std::string&>().size() > max_length) {
        fail(key, "holds an item that is not a string of fitting length");
        return {};
      }
      list.push_back(item.get<std::string>());
    }
    return list;
  }
  // The array at `key` (empty when absent); one longer than `max_items` is refused.
  const Json& array(std::string_view key, std::size_t max_items) {
    static const Json empty = Json::array();
    const Json* value = find(key);
    if (value == nullptr) return empty;
    if (!value->is_array()) return fail(key, "is not an array"), empty;
    if (value->size() > max_items) return fail(key, "has too many items"), empty;
    return *value;
  }
  const Json* object(std::string_view key) {
    const Json* value = find(key);
    if (value != nullptr && !value->is_object()) return fail(key, "is not an object"), nullptr;
    return value;
  }
  // The first failure, if any, prefixed with where it was.
  Status status(std::string_view where) const {
    if (failure_.empty()) return {};
    return malformed(where.empty() ? failure_ : fmt::format("{}: {}", where, failure_));
  }

 private:
  const Json* find(std::string_view key) const {
    auto found = object_.find(key);
    if (found == object_.end() || found->is_null()) return nullptr;
    return &*found;
  }
  void fail(std::string_view key, std::string_view why) {
    if (failure_.empty()) failure_ = fmt::format("\"{}\" {}", key, why);
  }

  const Json& object_;
  std::string failure_;
};

Json node_to_json(const Node& node) {
  auto gpus = Json::array();
  for (const auto& gpu : node.gpus) {
    auto links = Json::array();
    for (GpuLink link : gpu.links) links.push_back(static_cast<int>(link));
    gpus.push_back({{"index", gpu.index},
                    {"uuid", gpu.uuid},
                    {"model", gpu.model},
                    {"memory_mb", gpu.memory_mb},
                    {"simulated", gpu.simulated},
                    {"links", links}});
  }
  return {{"name", node.name},
          {"address", node.address},
          {"jupyter_host", node.jupyter_host},
          {"gpus", gpus},
          {"cpus", node.cpus},
          {"memory_mb", node.memory_mb},
          {"port_min", node.port_min},
          {"port_max", node.port_max},
          {"driver_cuda", node.driver_cuda},
          {"simulated", node.simulated},
          {"shared_homes", node.shared_homes},
          {"app_relay_port", node.app_relay_port},
          {"engine", node.engine},
          {"gpu_devices", node.gpu_devices},
          {"labels", node.labels}};
}

Result<Node> node_from_json(const Json& json) {
  Reader read(json);
  Node node;
  node.name = read.text("name");
  node.address = read.text("address");
  node.jupyter_host = read.text("jupyter_host");
  node.cpus = static_cast<int>(read.integer("cpus", 0, 1 << 20));
  node.memory_mb = read.integer("memory_mb", 0, std::int64_t{1} << 40);
  node.port_min = static_cast<int>(read.integer("port_min", 0, 65535));
  node.port_max = static_cast<int>(read.integer("port_max", 0, 65535));
  node.driver_cuda = read.text("driver_cuda", 16);
  node.simulated = read.flag("simulated");
  node.shared_homes = read.flag("shared_homes");
  node.app_relay_port = static_cast<int>(read.integer("app_relay_port", 0, 65535));
  node.engine = read.text("engine", 128);
  node.gpu_devices = read.text("gpu_devices", 16);
  int index = 0;
  for (const Json& item : read.array("gpus", kMaxGpus)) {
    if (!item.is_object()) return malformed("node.gpus holds an item that is not an object");
    Reader gpu_read(item);
    GpuDevice gpu;
    gpu.index = static_cast<int>(gpu_read.integer("index", 0, kMaxGpus - 1));
    gpu.uuid = gpu_read.text("uuid");
    gpu.model = gpu_read.text("model", 64);
    gpu.memory_mb = gpu_read.integer("memory_mb", 0, std::int64_t{1} << 30);
    gpu.simulated = gpu_read.flag("simulated");
    for (int link : gpu_read.integers("links", 0, 4))
      gpu.links.push_back(static_cast<GpuLink>(link));
    GPUPOOL_TRY(gpu_read.status("node.gpus"));
    // The scheduler indexes GPUs by position: they must come in order, 0 to N-1.
    if (gpu.index != index++) return malformed("node.gpus must be listed by index, from 0");
    node.gpus.push_back(std::move(gpu));
  }
  if (const Json* labels = read.object("labels")) {
    if (labels->size() > kMaxLabels) return malformed("node.labels has too many entries");
    for (const auto& [key, value] : labels->items()) {
      if (key.empty() || key.size() > 63 || !value.is_string() ||
          value.get_ref<const std::string&>().size() > 63) {
        return malformed("node.labels: keys and values are strings of 1-63 characters");
      }
      node.labels[key] = value.get<std::string>();
    }
  }
  GPUPOOL_TRY(read.status("node"));
  if (node.port_min > node.port_max) return malformed("node.port_min is above node.port_max");
  return node;
}

std::string_view phase_name(ObservedPhase phase) {
  switch (phase) {
    case ObservedPhase::starting:
      return "starting";
    case ObservedPhase::running:
      return "running";
    case ObservedPhase::failed:
      return "failed";
    case ObservedPhase::stopping:
      return "stopping";
    case ObservedPhase::restarting:
      return "restarting";
  }
  return "starting";
}

Result<ObservedPhase> phase_from_name(std::string_view name) {
  for (auto phase : {ObservedPhase::starting, ObservedPhase::running, ObservedPhase::failed,
                     ObservedPhase::stopping, ObservedPhase::restarting}) {
    if (phase_name(phase) == name) return phase;
  }
  return malformed(fmt::format("unknown phase \"{}\"", name.substr(0, 32)));
}

Json activity_to_json(const SessionActivity& activity);
Result<SessionActivity> activity_from_json(const Json& json);

Json observed_to_json(const ObservedSession& observed) {
  Json json = {{"session_id", observed.session_id},
               {"phase", phase_name(observed.phase)},
               {"message", observed.message},
               {"ssh_host_key", observed.ssh_host_key},
               {"stopped_at", observed.stopped_at},
               {"user", observed.user},
               {"gpu_indices", observed.gpu_indices},
               {"host_ports", observed.host_ports},
               {"holdings_known", observed.holdings_known},
               {"image", observed.image},
               {"jupyter_token", observed.jupyter_token}};
  // Left out until measured; servers of before it ignore it.
  if (observed.activity) json["activity"] = activity_to_json(*observed.activity);
  if (!observed.log.empty()) json["log"] = observed.log;
  return json;
}

Result<ObservedSession> observed_from_json(const Json& json) {
  if (!json.is_object()) return malformed("observed holds an item that is not an object");
  Reader read(json);
  ObservedSession observed;
  observed.session_id = read.text("session_id", 64);
  auto phase = phase_from_name(read.text("phase", 32));
  observed.message = read.text("message", kMaxText);
  observed.ssh_host_key = read.text("ssh_host_key", kMaxText);
  observed.log = read.text("log", kMaxStartLogBytes);
  observed.stopped_at = read.integer("stopped_at", 0, std::int64_t{1} << 50);
  observed.user = read.text("user", 64);
  observed.gpu_indices = read.integers("gpu_indices", 0, kMaxGpus - 1);
  observed.host_ports = read.integers("host_ports", 0, 65535);
  observed.holdings_known = read.flag("holdings_known");
  observed.image = read.text("image", kMaxText);
  observed.jupyter_token = read.text("jupyter_token", kMaxShortText);
  const Json* activity = read.object("activity");
  GPUPOOL_TRY(read.status("observed"));
  if (activity != nullptr) {
    auto measured = activity_from_json(*activity);
    if (!measured) return measured.error();
    observed.activity = *measured;
  }
  if (!phase) return phase.error();
  if (observed.session_id.empty()) return malformed("observed: a session_id is required");
  observed.phase = *phase;
  return observed;
}

std::optional<int> optional_int(const Json& json, std::string_view key) {
  auto found = json.find(key);
  if (found == json.end() || !found->is_number()) return std::nullopt;
  return static_cast<int>(found->get<double>());
}

std::optional<double> optional_double(const Json& json, std::string_view key) {
  auto found = json.find(key);
  if (found == json.end() || !found->is_number()) return std::nullopt;
  return found->get<double>();
}

Json activity_to_json(const SessionActivity& activity) {
  return {{"cpu_cores", optional_json(activity.cpu_cores)},
          {"gpu_utilization_percent", optional_json(activity.gpu_utilization_percent)},
          {"kernels", activity.kernels},
          {"busy_kernels", activity.busy_kernels},
          {"terminals", activity.terminals},
          {"jupyter_quiet_millis", optional_json(activity.jupyter_quiet_millis)},
          {"ssh_connections", optional_json(activity.ssh_connections)}};
}

// Unlike telemetry, activity is acted on (a session is reclaimed on it): out of range is
// malformed, and an absent figure stays unknown.
Result<SessionActivity> activity_from_json(const Json& json) {
  Reader read(json);
  SessionActivity activity;
  auto present = [&](const char* key) { return json.contains(key) && !json[key].is_null(); };
  if (present("cpu_cores")) activity.cpu_cores = read.number("cpu_cores", 0, 1e5);
  if (present("gpu_utilization_percent"))
    activity.gpu_utilization_percent =
        static_cast<int>(read.integer("gpu_utilization_percent", 0, 100));
  activity.kernels = static_cast<int>(read.integer("kernels", 0, 1'000'000));
  activity.busy_kernels = static_cast<int>(read.integer("busy_kernels", 0, 1'000'000));
  activity.terminals = static_cast<int>(read.integer("terminals", 0, 1'000'000));
  if (present("jupyter_quiet_millis"))
    activity.jupyter_quiet_millis = read.integer("jupyter_quiet_millis", 0, std::int64_t{1} << 50);
  if (present("ssh_connections"))
    activity.ssh_connections = static_cast<int>(read.integer("ssh_connections", 0, 1'000'000));
  GPUPOOL_TRY(read.status("observed: activity"));
  return activity;
}

Json reading_to_json(const GpuReading& reading) {
  Json json = {{"index", reading.index},
               {"utilization_percent", optional_json(reading.utilization_percent)},
               {"memory_used_mb", optional_json(reading.memory_used_mb)},
               {"temperature_celsius", optional_json(reading.temperature_celsius)},
               {"power_watts", optional_json(reading.power_watts)},
               {"power_limit_watts", optional_json(reading.power_limit_watts)},
               {"ecc_uncorrected_errors", optional_json(reading.ecc_uncorrected_errors)}};
  // Left out when empty; servers of before it ignore it.
  if (!reading.sessions.empty()) {
    auto sessions = Json::array();
    for (const auto& use : reading.sessions) {
      sessions.push_back({{"session_id", use.session_id},
                          {"memory_used_mb", optional_json(use.memory_used_mb)},
                          {"utilization_percent", optional_json(use.utilization_percent)}});
    }
    json["sessions"] = sessions;
  }
  return json;
}

Result<SessionGpuUse> session_use_from_json(const Json& json) {
  if (!json.is_object())
    return malformed("gpu_readings: sessions holds an item that is not an object");
  Reader read(json);
  SessionGpuUse use;
  use.session_id = read.text("session_id", 64);
  read.number("memory_used_mb", 0, 1e9);
  read.number("utilization_percent", 0, 100);
  GPUPOOL_TRY(read.status("gpu_readings: sessions"));
  if (use.session_id.empty()) return malformed("gpu_readings: sessions needs a session_id");
  if (auto used = optional_double(json, "memory_used_mb"))
    use.memory_used_mb = static_cast<std::int64_t>(*used);
  use.utilization_percent = optional_int(json, "utilization_percent");
  return use;
}

Result<GpuReading> reading_from_json(const Json& json) {
  if (!json.is_object()) return malformed("gpu_readings holds an item that is not an object");
  Reader read(json);
  GpuReading reading;
  reading.index = static_cast<int>(read.integer("index", 0, kMaxGpus - 1));
  // Present and in range, or left out: telemetry is shown, never acted on.
  read.number("utilization_percent", 0, 100);
  read.number("memory_used_mb", 0, 1e9);
  read.number("temperature_celsius", -100, 300);
  read.number("power_watts", 0, 1e5);
  read.number("power_limit_watts", 0, 1e5);
  read.number("ecc_uncorrected_errors", 0, 1e15);
  GPUPOOL_TRY(read.status("gpu_readings"));
  reading.utilization_percent = optional_int(json, "utilization_percent");
  if (auto used = optional_double(json, "memory_used_mb"))
    reading.memory_used_mb = static_cast<std::int64_t>(*used);
  reading.temperature_celsius = optional_int(json, "temperature_celsius");
  reading.power_watts = optional_double(json, "power_watts");
  reading.power_limit_watts = optional_double(json, "power_limit_watts");
  if (auto errors = optional_double(json, "ecc_uncorrected_errors"))
    reading.ecc_uncorrected_errors = static_cast<std::int64_t>(*errors);
  for (const Json& item : read.array("sessions", kMaxSessionsPerGpu)) {
    auto use = session_use_from_json(item);
    if (!use) return use.error();
    reading.sessions.push_back(std::move(*use));
  }
  GPUPOOL_TRY(read.status("gpu_readings"));
  return reading;
}

Json desired_to_json(const DesiredSession& desired) {
  Json json = {{"session_id", desired.session_id},
               {"username", desired.username},
               {"uid", desired.uid},
               {"gid", desired.gid},
               {"image_reference", desired.image_reference},
               {"gpu_indices", desired.gpu_indices},
               {"gpu_uuids", desired.gpu_uuids},
               {"jupyter_port", desired.jupyter_port},
               {"ssh_port", desired.ssh_port},
               {"jupyter_token", desired.jupyter_token},
               {"authorized_keys", desired.authorized_keys},
               {"cpus", desired.cpus},
               {"memory_mb", desired.memory_mb},
               {"gpu_memory_mb", desired.gpu_memory_mb}};
  if (!desired.datasets.empty()) {
    auto datasets = Json::array();
    for (const auto& dataset : desired.datasets)
      datasets.push_back({{"name", dataset.name}, {"host_path", dataset.host_path}});
    json["datasets"] = std::move(datasets);
  }
  // Only where there are some: a node that runs no session of that registry never sees them.
  if (!desired.registry_username.empty() || !desired.registry_password.empty()) {
    json["registry_username"] = desired.registry_username;
    json["registry_password"] = desired.registry_password;
  }
  return json;
}

Result<DesiredSession> desired_from_json(const Json& json) {
  if (!json.is_object()) return malformed("desired holds an item that is not an object");
  Reader read(json);
  DesiredSession desired;
  desired.session_id = read.text("session_id", 64);
  desired.username = read.text("username", 64);
  desired.uid = static_cast<int>(read.integer("uid", 1, 1 << 30));
  desired.gid = static_cast<int>(read.integer("gid", 0, 1 << 30));  // absent from older servers
  desired.image_reference = read.text("image_reference", kMaxText);
  desired.registry_username = read.text("registry_username", kMaxShortText);
  desired.registry_password = read.text("registry_password", kMaxText);
  desired.gpu_indices = read.integers("gpu_indices", 0, kMaxGpus - 1);
  desired.gpu_uuids = read.texts("gpu_uuids", kMaxShortText);
  desired.jupyter_port = static_cast<int>(read.integer("jupyter_port", 1, 65535));
  desired.ssh_port = static_cast<int>(read.integer("ssh_port", 1, 65535));
  desired.jupyter_token = read.text("jupyter_token", kMaxShortText);
  desired.authorized_keys = read.texts("authorized_keys", 16 * 1024);
  desired.cpus = read.number("cpus", 0, 1 << 20);
  desired.memory_mb = read.integer("memory_mb", 0, std::int64_t{1} << 40);
  desired.gpu_memory_mb = read.integer("gpu_memory_mb", 0, std::int64_t{1} << 30);
  for (const Json& item : read.array("datasets", kMaxListItems)) {
    if (!item.is_object()) return malformed("desired.datasets holds an item that is not an object");
    Reader dataset_read(item);
    DatasetMount dataset{dataset_read.text("name"), dataset_read.text("host_path", kMaxText)};
    GPUPOOL_TRY(dataset_read.status("desired.datasets"));
    // Checked again here: a path from the wire becomes a mount on this host.
    if (auto name = check_dataset_name(dataset.name); !name) return malformed(name.error().message);
    if (auto path = check_dataset_path(dataset.host_path); !path)
      return malformed(path.error().message);
    desired.datasets.push_back(std::move(dataset));
  }
  GPUPOOL_TRY(read.status("desired"));
  if (desired.session_id.empty() || desired.username.empty() || desired.image_reference.empty())
    return malformed("desired: session_id, username and image_reference are required");
  return desired;
}

Json image_to_pull_json(const ImageToPull& image) {
  Json item = {{"reference", image.reference}};
  if (!image.registry_username.empty() || !image.registry_password.empty()) {
    item["registry_username"] = image.registry_username;
    item["registry_password"] = image.registry_password;
  }
  return item;
}

Result<ImageToPull> image_to_pull_from_json(const Json& item, std::string_view where) {
  if (!item.is_object())
    return malformed(fmt::format("{} holds an item that is not an object", where));
  Reader image(item);
  ImageToPull pull{image.text("reference", kMaxText), image.text("registry_username"),
                   image.text("registry_password", kMaxText)};
  GPUPOOL_TRY(image.status(where));
  if (pull.reference.empty()) return malformed(fmt::format("{}: reference is required", where));
  return pull;
}

Json check_report_to_json(const ImageCheckReport& report) {
  Json json = {{"tag", report.tag},
               {"reference", report.reference},
               {"error", report.error},
               {"python", report.python},
               {"notebook", report.notebook},
               {"torch", report.torch},
               {"torch_cuda", report.torch_cuda},
               {"sshd", report.sshd},
               {"setpriv", report.setpriv}};
  // Only when found: a server older than its agents (a rolling upgrade) refuses fields it
  // does not know.
  if (!report.jupyterlab.empty()) json["jupyterlab"] = report.jupyterlab;
  if (!report.code_server.empty()) json["code_server"] = report.code_server;
  return json;
}

Result<ImageCheckReport> check_report_from_json(const Json& item) {
  if (!item.is_object()) return malformed("image_checks holds an item that is not an object");
  GPUPOOL_TRY(
      reject_unknown_fields(item, {"tag", "reference", "error", "python", "notebook", "jupyterlab",
                                   "code_server", "torch", "torch_cuda", "sshd", "setpriv"}));
  Reader read(item);
  ImageCheckReport report;
  report.tag = read.text("tag");
  report.reference = read.text("reference", kMaxText);
  report.error = read.text("error", kMaxText);
  report.python = read.text("python", kMaxVersion);
  report.notebook = read.text("notebook", kMaxVersion);
  report.jupyterlab = read.text("jupyterlab", kMaxVersion);
  report.code_server = read.text("code_server", kMaxVersion);
  report.torch = read.text("torch", kMaxVersion);
  report.torch_cuda = read.text("torch_cuda", kMaxVersion);
  report.sshd = read.flag("sshd");
  report.setpriv = read.flag("setpriv");
  GPUPOOL_TRY(read.status("image_checks"));
  if (report.tag.empty() || report.reference.empty())
    return malformed("image_checks: tag and reference are required");
  return report;
}

constexpr std::int64_t kMaxSaveBytes = std::int64_t{1} << 50;
constexpr std::int64_t kMaxDiskBytes = std::int64_t{1} << 60;

Json disk_to_json(const NodeDisk& disk) {
  return {{"images_bytes", disk.images_bytes},         {"containers_bytes", disk.containers_bytes},
          {"volumes_bytes", disk.volumes_bytes},       {"free_bytes", disk.free_bytes},
          {"total_bytes", disk.total_bytes},           {"images", disk.images},
          {"images_collected", disk.images_collected}, {"collected_bytes", disk.collected_bytes}};
}

Result<NodeDisk> disk_from_json(const Json& item) {
  GPUPOOL_TRY(reject_unknown_fields(
      item, {"images_bytes", "containers_bytes", "volumes_bytes", "free_bytes", "total_bytes",
             "images", "images_collected", "collected_bytes"}));
  Reader read(item);
  NodeDisk disk{read.integer("images_bytes", 0, kMaxDiskBytes),
                read.integer("containers_bytes", 0, kMaxDiskBytes),
                read.integer("volumes_bytes", 0, kMaxDiskBytes),
                read.integer("free_bytes", -1, kMaxDiskBytes),
                read.integer("total_bytes", -1, kMaxDiskBytes),
                static_cast<int>(read.integer("images", 0, 1 << 24)),
                static_cast<int>(read.integer("images_collected", 0, 1 << 24)),
                read.integer("collected_bytes", 0, kMaxDiskBytes)};
  GPUPOOL_TRY(read.status("disk"));
  return disk;
}

Json save_report_to_json(const ImageSaveReport& report) {
  return {{"id", report.id},
          {"error", report.error},
          {"digest", report.digest},
          {"size_bytes", report.size_bytes}};
}

Result<ImageSaveReport> save_report_from_json(const Json& item) {
  if (!item.is_object()) return malformed("image_saves holds an item that is not an object");
  GPUPOOL_TRY(reject_unknown_fields(item, {"id", "error", "digest", "size_bytes"}));
  Reader read(item);
  ImageSaveReport report{read.integer("id", 1, kMaxSaveBytes), read.text("error", kMaxText),
                         read.text("digest"), read.integer("size_bytes", 0, kMaxSaveBytes)};
  GPUPOOL_TRY(read.status("image_saves"));
  return report;
}

Json save_order_to_json(const ImageSaveOrder& order) {
  return {{"id", order.id},
          {"session_id", order.session_id},
          {"repository", order.repository},
          {"tag", order.tag},
          {"max_bytes", order.max_bytes},
          {"base", image_to_pull_json(order.base)}};
}

Result<ImageSaveOrder> save_order_from_json(const Json& item) {
  if (!item.is_object()) return malformed("image_saves holds an item that is not an object");
  Reader read(item);
  ImageSaveOrder order{read.integer("id", 1, kMaxSaveBytes),        read.text("session_id"),
                       read.text("repository", kMaxText),           read.text("tag"),
                       read.integer("max_bytes", 0, kMaxSaveBytes), {}};
  const Json* base = read.object("base");
  GPUPOOL_TRY(read.status("image_saves"));
  if (base == nullptr) return malformed("image_saves: base is required");
  auto pull = image_to_pull_from_json(*base, "image_saves");
  if (!pull) return pull.error();
  order.base = std::move(*pull);
  if (order.session_id.empty() || order.repository.empty() || order.tag.empty())
    return malformed("image_saves: session_id, repository and tag are required");
  return order;
}

}  // namespace

std::string sync_request_to_json(const SyncRequest& request, int protocol) {
  auto observed = Json::array();
  for (const auto& item : request.observed) observed.push_back(observed_to_json(item));
  auto readings = Json::array();
  for (const auto& reading : request.gpu_readings) readings.push_back(reading_to_json(reading));
  Json message{{"protocol", protocol},
               {"node", node_to_json(request.node)},
               {"observed", observed},
               {"gpu_readings", readings}};
  if (protocol >= 2) {
    message["held_state"] = request.held_state;
    message["wait_millis"] = request.wait_millis;
  }
  // Only when there are some: a server that orders none may not know the field.
  if (!request.image_checks.empty()) {
    auto checks = Json::array();
    for (const auto& report : request.image_checks) checks.push_back(check_report_to_json(report));
    message["image_checks"] = checks;
  }
  if (!request.image_saves.empty()) {
    auto saves = Json::array();
    for (const auto& report : request.image_saves) saves.push_back(save_report_to_json(report));
    message["image_saves"] = saves;
  }
  if (request.disk) message["disk"] = disk_to_json(*request.disk);
  // Text from containers (a start-up log, an engine's error) may hold any bytes: they never
  // stop a sync.
  return message.dump(-1, ' ', false, Json::error_handler_t::replace);
}

int sync_protocol_of(std::string_view text) {
  auto json = parse_json_object(text);
  if (!json) return 0;
  auto found = json->find("protocol");
  if (found == json->end() || !found->is_number_integer()) return 0;
  return static_cast<int>(std::clamp<std::int64_t>(found->get<std::int64_t>(), 0, 1 << 20));
}

Result<SyncRequest> sync_request_from_json(std::string_view text) {
  auto json = parse_json_object(text);
  if (!json) return json.error();
  GPUPOOL_TRY(
      reject_unknown_fields(*json, {"protocol", "node", "observed", "gpu_readings", "held_state",
                                    "wait_millis", "image_checks", "image_saves", "disk"}));
  Reader read(*json);
  SyncRequest request;
  const Json* node = read.object("node");
  if (node == nullptr) return malformed("\"node\" is required");
  auto parsed_node = node_from_json(*node);
  if (!parsed_node) return parsed_node.error();
  request.node = std::move(*parsed_node);
  for (const Json& item : read.array("observed", kMaxObserved)) {
    auto observed = observed_from_json(item);
    if (!observed) return observed.error();
    request.observed.push_back(std::move(*observed));
  }
  for (const Json& item : read.array("gpu_readings", kMaxGpus)) {
    auto reading = reading_from_json(item);
    if (!reading) return reading.error();
    request.gpu_readings.push_back(*reading);
  }
  request.held_state = read.text("held_state", 64);
  request.wait_millis = read.integer("wait_millis", 0, kMaxSyncWaitMillis);
  for (const Json& item : read.array("image_checks", kMaxImageChecks)) {
    auto report = check_report_from_json(item);
    if (!report) return report.error();
    request.image_checks.push_back(std::move(*report));
  }
  for (const Json& item : read.array("image_saves", kMaxImageSaves)) {
    auto report = save_report_from_json(item);
    if (!report) return report.error();
    request.image_saves.push_back(std::move(*report));
  }
  if (const Json* disk = read.object("disk")) {
    auto parsed = disk_from_json(*disk);
    if (!parsed) return parsed.error();
    request.disk = *parsed;
  }
  GPUPOOL_TRY(read.status(""));
  return request;
}

std::string sync_response_to_json(const SyncResponse& response, int protocol) {
  auto desired = Json::array();
  for (const auto& item : response.desired) desired.push_back(desired_to_json(item));
  auto prepull = Json::array();
  for (const auto& image : response.prepull) prepull.push_back(image_to_pull_json(image));
  Json message{{"protocol", protocol},
               {"desired", desired},
               {"release", response.release},
               {"prepull", prepull}};
  if (protocol >= 2) message["state"] = response.state;
  if (!response.image_checks.empty()) {
    auto checks = Json::array();
    for (const auto& order : response.image_checks) {
      Json item = image_to_pull_json(order.image);
      item["tag"] = order.tag;
      checks.push_back(std::move(item));
    }
    message["image_checks"] = checks;
  }
  if (!response.image_saves.empty()) {
    auto saves = Json::array();
    for (const auto& order : response.image_saves) saves.push_back(save_order_to_json(order));
    message["image_saves"] = saves;
  }
  return message.dump();
}

Result<SyncResponse> sync_response_from_json(std::string_view text) {
  auto json = parse_json_object(text);
  if (!json) return json.error();
  Reader read(*json);
  SyncResponse response;
  for (const Json& item : read.array("desired", kMaxObserved)) {
    auto desired = desired_from_json(item);
    if (!desired) return desired.error();
    response.desired.push_back(std::move(*desired));
  }
  response.release = read.texts("release", 64);
  response.state = read.text("state", 64);
  for (const Json& item : read.array("prepull", kMaxPrepull)) {
    auto pull = image_to_pull_from_json(item, "prepull");
    if (!pull) return pull.error();
    response.prepull.push_back(std::move(*pull));
  }
  for (const Json& item : read.array("image_checks", kMaxImageChecks)) {
    auto pull = image_to_pull_from_json(item, "image_checks");
    if (!pull) return pull.error();
    Reader order(item);
    ImageCheckOrder check{order.text("tag"), std::move(*pull)};
    GPUPOOL_TRY(order.status("image_checks"));
    if (check.tag.empty()) return malformed("image_checks: tag is required");
    response.image_checks.push_back(std::move(check));
  }
  for (const Json& item : read.array("image_saves", kMaxImageSaves)) {
    auto order = save_order_from_json(item);
    if (!order) return order.error();
    response.image_saves.push_back(std::move(*order));
  }
  GPUPOOL_TRY(read.status(""));
  return response;
}

Result<SessionActivity> session_activity_from_json(const Json& object) {
  if (!object.is_object()) return malformed("activity: not a JSON object");
  return activity_from_json(object);
}

}  // namespace gpupool::protocol
