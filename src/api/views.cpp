#include "api/views.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "auth/ssh_key.hpp"
#include "core/json_input.hpp"
#include "metering/meter.hpp"
#include "scheduler/placement_state.hpp"

namespace gpupool::api {

using nlohmann::json;

namespace {

json optional_time(UnixMillis time) {
  return time == 0 ? json(nullptr) : json(format_rfc3339(time));
}

// Where the session's home is: on every node (a shared filesystem), or on its node only. A
// node-local home elsewhere (the user's earlier sessions' node had no room) is named, since
// its files are not in this session.
json home_view(const Session& session, const ViewContext& context) {
  if (session.node.empty()) return nullptr;
  bool shared = context.shared_home_nodes.contains(session.node);
  bool elsewhere = !shared && !session.home_node.empty() && session.home_node != session.node;
  return {{"shared", shared},
          {"node", shared ? json(nullptr) : json(session.node)},
          {"earlier_home_node", elsewhere ? json(session.home_node) : json(nullptr)}};
}

}  // namespace

double credits(std::int64_t micros) {
  return static_cast<double>(micros) / kMicrosPerCredit;
}

namespace {

// Whole watts and tenths of a GB: finer digits only make the live view resend.
std::optional<double> rounded(std::optional<double> value, double step) {
  if (!value) return std::nullopt;
  return std::round(*value / step) * step;
}

// Memory in use as the API shows it: GB to a tenth; null when not read.
json used_gb(const std::optional<std::int64_t>& megabytes) {
  if (!megabytes) return nullptr;
  return optional_json(rounded(static_cast<double>(*megabytes) / 1024, 0.1));
}

// What the session's processes use of each GPU it holds, as its node's driver last said:
// memory and recent share of the GPU's time. Empty while it holds none, where the driver gives
// no per-process figures, for simulated GPUs and while its node is silent.
json gpu_use_view(const Session& session, const ViewContext& context, UnixMillis now) {
  json list = json::array();
  if (context.telemetry == nullptr || session.node.empty() || !holds_resources(session.state))
    return list;
  auto fresh_since = now - scheduler::kNodeSilenceLimitMillis;
  for (const auto& reading :
       context.telemetry->session_use(session.node, session.id, fresh_since)) {
    list.push_back({{"gpu", reading.gpu_index},
                    {"memory_used_gb", used_gb(reading.use.memory_used_mb)},
                    {"utilization_percent", optional_json(reading.use.utilization_percent)}});
  }
  return list;
}

}  // namespace

json session_view(const Session& session, const ViewContext& context, UnixMillis now) {
  bool reachable = session.state == SessionState::running;
  json view = {
      {"id", session.id},
      {"user", session.username},
      {"state", to_string(session.state)},
      // Words for people and the CLI (English); `queue` and `end_reason` as data, which the
      // portal words in the reader's language.
      // (the lifecycle keeps `reason` as english(queue_reason) while queued, and drops the
      // queue reason when the session leaves the queue).
      {"reason", session.reason},
      {"queue", session.queue_reason ? to_json(*session.queue_reason) : json(nullptr)},
      {"end_reason",
       session.end_reason == EndReason::none ? json(nullptr) : json(to_string(session.end_reason))},
      {"image", session.request.image_tag},
      {"image_family", session.image_family.empty() ? json(nullptr) : json(session.image_family)},
      {"node", session.node.empty() ? json(nullptr) : json(session.node)},
      {"gpus",
       {{"count", session.request.gpus},
        {"model",
         session.request.gpu_model.empty() ? json(nullptr) : json(session.request.gpu_model)},
        // The model it was placed on (null until placed, and for a session with no GPU).
        {"placed_model",
         session.billed_gpu_model.empty() || session.billed_gpu_model == metering::kCpuPriceModel
             ? json(nullptr)
             : json(session.billed_gpu_model)},
        {"memory_gb", session.request.gpu_memory_mb > 0
                          ? json(static_cast<double>(session.request.gpu_memory_mb) / 1024.0)
                          : json(nullptr)},
        {"shared", session.request.gpu_memory_mb > 0},
        {"indices", session.gpu_indices},
        {"uuids", session.gpu_uuids},
        {"simulated", session.node.empty() ? context.simulated
                                           : context.simulated_nodes.contains(session.node)}}},
      {"cpus", session.request.cpus},
      {"memory_gb", static_cast<double>(session.request.memory_mb) / 1024.0},
      {"max_hours", session.request.max_hours ? json(*session.request.max_hours) : json(nullptr)},
      {"created_at", format_rfc3339(session.created_at)},
      {"started_at", optional_time(session.started_at)},
      {"ended_at", optional_time(session.ended_at)},
      {"jupyter", nullptr},
      {"vscode", nullptr},
      {"ssh", nullptr},
  };
  view["cost"] = nullptr;  // until placed: no GPU model, no rate
  if (!session.billed_gpu_model.empty()) {
    view["cost"] = {{"gpu_model", session.billed_gpu_model},
                    {"gpus", session.billed_gpus},
                    {"hourly_rate", credits(session.rate_micros_per_hour)},
                    {"billed_seconds", metering::billed_seconds(session, now)},
                    {"so_far", credits(metering::cost_micros(session, now))}};
  }
  // The container stopped without being asked and was (or is being) started again: the
  // owner sees it here and in `reason`; the time it was down is not billed.
  view["restarts"] = {{"count", session.restarts},
                      {"last_at", optional_time(session.restarted_at)},
                      {"down_since", optional_time(session.down_since)},
                      {"unbilled_seconds", metering::down_millis(session, now) / 1000}};
  view["home"] = home_view(session, context);
  view["gpu_use"] = gpu_use_view(session, context, now);
  view["preemptible"] = session.request.preemptible;
  view["node_selector"] = session.request.node_selector;
  view["ends_at"] = nullptr;
  view["warning"] = nullptr;
  if (session.request.max_hours && session.started_at > 0 &&
      session.state == SessionState::running) {
    auto ends_at =
        session.started_at + static_cast<UnixMillis>(*session.request.max_hours * 3600 * 1000);
    view["ends_at"] = format_rfc3339(ends_at);
    if (ends_at - now <= kTimeLimitWarningMillis) {
      view["warning"] = fmt::format("this session reaches its time limit in {} min; save your work",
                                    std::max<UnixMillis>(0, (ends_at - now + 59'999) / 60'000));
    }
  }
  view["idle"] = idle_view(session, context, now);
  if (auto idle = idle_warning(session, context); !idle.empty()) view["warning"] = idle;
  if (session.preempt_at != 0 && holds_resources(session.state) &&
      session.state != SessionState::stopping) {
    view["warning"] = fmt::format(
        "this preemptible session will be stopped at {} to make room for another; save your work",
        format_rfc3339(session.preempt_at));
  }
  if (reachable) {
    auto node_host = context.node_hosts.find(session.node);
    const std::string& direct_host =
        node_host != context.node_hosts.end() && !node_host->second.empty() ? node_host->second
                                                                            : context.public_host;
    // Through the gateway host where the deployment relays SSH (nodes on a private network).
    bool relayed = session.gateway_ssh_port != 0;
    const std::string& ssh_host = relayed ? context.public_host : direct_host;
    int ssh_port = relayed ? session.gateway_ssh_port : session.ssh_port;
    // Through the gateway, which signs the user in to Jupyter: no token in the link.
    std::string base = fmt::format("{}/s/{}/", context.gateway_url, session.id);
    view["jupyter"] = {{"url", base}};
    if (context.images_with_vscode.contains(session.request.image_tag) &&
        context.relaying_nodes.contains(session.node))
      view["vscode"] = {{"url", base + "vscode/"}};
    nlohmann::json host_key = nullptr;
    if (!session.ssh_host_key.empty()) {
      host_key = {
          {"key", session.ssh_host_key},
          {"fingerprint", auth::ssh_key_fingerprint(session.ssh_host_key)},
          {"known_hosts", fmt::format("[{}]:{} {}", ssh_host, ssh_port, session.ssh_host_key)}};
    }
    if (context.images_without_ssh.contains(session.request.image_tag)) {
      view["ssh_unavailable"] = "this session's image has no SSH server: use Jupyter's terminal";
      return view;
    }
    view["ssh"] = {
        {"host_key", host_key},
        {"host", ssh_host},
        {"port", ssh_port},
        {"user", session.username},
        {"command", fmt::format("ssh -p {} {}@{}", ssh_port, session.username, ssh_host)},
        // For VS Code's Remote-SSH (and plain ssh): paste into ~/.ssh/config.
        {"config", fmt::format("Host gpupool-{}\n  HostName {}\n  Port {}\n  User {}\n", session.id,
                               ssh_host, ssh_port, session.username)},
        {"direct",
         relayed ? json{{"host", direct_host}, {"port", session.ssh_port}} : json(nullptr)}};
  }
  return view;
}

json user_view(const User& user) {
  return {{"id", user.id},
          {"username", user.username},
          {"admin", user.admin},
          {"uid", user.uid},
          {"disabled", user.disabled},
          {"source", to_string(user.source)},
          {"created_at", format_rfc3339(user.created_at)}};
}

json image_view(const Image& image, const std::vector<services::ImageFit>& fits, bool admin) {
  // Pinned registry images name the exact content their sessions run (reproducible work).
  auto at = image.reference.find('@');
  json nodes = json::array();
  std::set<std::string> able_models;
  for (const auto& fit : fits) {
    nodes.push_back(
        {{"name", fit.node},
         {"driver_cuda", fit.driver_cuda.empty() ? json(nullptr) : json(fit.driver_cuda)},
         {"gpu_models", fit.gpu_models},
         {"able", fit.able}});
    if (fit.able) able_models.insert(fit.gpu_models.begin(), fit.gpu_models.end());
  }
  bool runnable = std::any_of(fits.begin(), fits.end(), [](const auto& fit) { return fit.able; });
  json view = {
      {"tag", image.tag},
      {"reference", image.reference},
      {"digest", at == std::string::npos ? json(nullptr) : json(image.reference.substr(at + 1))},
      {"framework", image.framework},
      {"framework_version", image.framework_version},
      {"cuda", image.cuda.empty() ? json(nullptr) : json(image.cuda)},
      {"cudnn", image.cudnn.empty() ? json(nullptr) : json(image.cudnn)},
      {"flavor", image.flavor},
      {"default", image.is_default},
      {"status", image.status},
      {"state", to_string(image.state)},
      {"ssh", image.ssh},
      {"runnable", runnable},
      {"gpu_models", able_models},
      {"nodes", nodes},
      {"check",
       {{"state", to_string(image.check.state)},
        {"message", image.check.message},
        {"python", image.check.python.empty() ? json(nullptr) : json(image.check.python)},
        {"notebook", image.check.notebook.empty() ? json(nullptr) : json(image.check.notebook)},
        {"jupyterlab",
         image.check.jupyterlab.empty() ? json(nullptr) : json(image.check.jupyterlab)},
        {"code_server",
         image.check.code_server.empty() ? json(nullptr) : json(image.check.code_server)},
        {"torch", image.check.torch.empty() ? json(nullptr) : json(image.check.torch)},
        {"torch_cuda",
         image.check.torch_cuda.empty() ? json(nullptr) : json(image.check.torch_cuda)},
        {"checked_at", optional_time(image.check.checked_at)}}},
      {"owner", image.owner.empty() ? json(nullptr) : json(image.owner)},
  };
  if (!image.owner.empty()) view["size_bytes"] = image.size_bytes;
  if (admin) {
    view["prepull"] = image.prepull;
    view["added_by"] = image.added_by.empty() ? json(nullptr) : json(image.added_by);
    view["added_at"] = optional_time(image.added_at);
    view["check"]["node"] = image.check.node.empty() ? json(nullptr) : json(image.check.node);
  }
  return view;
}

json node_disk_view(const NodeDisk& disk) {
  auto known = [](std::int64_t bytes) { return bytes >= 0 ? json(bytes) : json(nullptr); };
  return {{"images_bytes", disk.images_bytes},         {"containers_bytes", disk.containers_bytes},
          {"volumes_bytes", disk.volumes_bytes},       {"free_bytes", known(disk.free_bytes)},
          {"total_bytes", known(disk.total_bytes)},    {"images", disk.images},
          {"images_collected", disk.images_collected}, {"collected_bytes", disk.collected_bytes}};
}

json image_save_view(const ImageSave& save) {
  return {{"id", save.id},
          {"name", save.name},
          {"tag", save.owner + "/" + save.name},
          {"session_id", save.session_id},
          {"from_image", save.base_tag},
          {"state", to_string(save.state)},
          {"message", save.message.empty() ? json(nullptr) : json(save.message)},
          {"size_bytes", save.size_bytes},
          {"requested_at", optional_time(save.requested_at)},
          {"finished_at", optional_time(save.finished_at)}};
}

json pool_view(const PoolSummary& pool) {
  json nodes = json::array();
  for (std::size_t i = 0; i < pool.nodes.size(); ++i) {
    const Node& node = pool.nodes[i];
    nodes.push_back(
        {{"name", node.name},
         {"state", node.removed         ? "removed"
                   : !pool.node_live[i] ? "down"
                   : node.drained       ? "draining"
                                        : "ready"},
         {"simulated", node.simulated},
         {"gpus_total", node.gpus.size()},
         {"gpus_free", pool.node_free_gpus[i]},
         {"cpus", node.cpus},
         {"memory_gb", node.memory_mb / 1024},
         {"driver_cuda", node.driver_cuda.empty() ? json(nullptr) : json(node.driver_cuda)},
         {"drained", node.drained},
         {"labels", node.labels},
         {"last_seen", format_rfc3339(node.last_seen)}});
  }
  json models = json::array();
  for (const auto& model : pool.models) {
    models.push_back({{"model", model.model},
                      {"memory_gb", model.memory_mb / 1024},
                      {"total", model.total},
                      {"free", model.free},
                      {"shared", model.shared},
                      {"free_memory_gb", static_cast<double>(model.free_memory_mb) / 1024.0}});
  }
  return {{"nodes", nodes},
          {"gpu_models", models},
          {"queue_length", pool.queue_length},
          {"simulated", pool.simulated}};
}

namespace {

// A session holding a GPU, with what its processes use of it (null until the node's driver
// reports per-process use, and for simulated GPUs).
json holder_view(const Session& session, const GpuReading& reading) {
  SessionGpuUse use;
  for (const auto& reported : reading.sessions) {
    if (reported.session_id == session.id) use = reported;
  }
  return {{"id", session.id},
          {"user", session.username},
          {"memory_used_gb", used_gb(use.memory_used_mb)},
          {"utilization_percent", optional_json(use.utilization_percent)}};
}

}  // namespace

json node_gpus_view(const Node& node, const std::vector<Session>& active,
                    const NodeReadings* readings) {
  std::map<int, const GpuReading*> reading_of;
  if (readings != nullptr) {
    for (const auto& reading : readings->gpus) reading_of[reading.index] = &reading;
  }
  json gpus = json::array();
  for (const auto& gpu : node.gpus) {
    GpuReading reading;
    if (auto found = reading_of.find(gpu.index); found != reading_of.end())
      reading = *found->second;
    json holders = json::array();
    for (const auto& session : active) {
      bool here = session.node == node.name && holds_resources(session.state) &&
                  std::find(session.gpu_indices.begin(), session.gpu_indices.end(), gpu.index) !=
                      session.gpu_indices.end();
      if (here) holders.push_back(holder_view(session, reading));
    }
    gpus.push_back({{"index", gpu.index},
                    {"uuid", gpu.uuid},
                    {"model", gpu.model},
                    {"memory_gb", static_cast<double>(gpu.memory_mb) / 1024},
                    {"simulated", gpu.simulated},
                    {"sessions", holders},
                    {"utilization_percent", optional_json(reading.utilization_percent)},
                    {"memory_used_gb", used_gb(reading.memory_used_mb)},
                    {"temperature_c", optional_json(reading.temperature_celsius)},
                    {"power_w", optional_json(rounded(reading.power_watts, 1))},
                    {"power_limit_w", optional_json(rounded(reading.power_limit_watts, 1))},
                    {"ecc_uncorrected_errors", optional_json(reading.ecc_uncorrected_errors)}});
  }
  return gpus;
}

}  // namespace gpupool::api
