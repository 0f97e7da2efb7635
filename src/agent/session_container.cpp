#include "agent/session_container.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/session_network.hpp"
#include "model/dataset.hpp"

namespace gpupool::agent {

namespace {

// Root is needed only to add the user entry, write its files and drop to it; these are the
// least capabilities that do that. setpriv then clears them all (CapEff 0 for the user).
const std::vector<std::string> kInitCapabilities = {"CHOWN", "SETUID", "SETGID", "DAC_OVERRIDE",
                                                    "FOWNER"};

constexpr std::int64_t kPidsLimit = 4096;
// sshd's and Jupyter's output (the kernels' goes to the notebook): plenty to debug a start.
constexpr std::int64_t kLogMaxBytes = 20 * 1024 * 1024;

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string joined;
  for (const auto& item : items) {
    if (!joined.empty()) joined += separator;
    joined += item;
  }
  return joined;
}

std::string join_numbers(const std::vector<int>& numbers) {
  std::vector<std::string> items;
  for (int number : numbers) items.push_back(std::to_string(number));
  return join(items, ",");
}

// "1,2" → {1, 2}; anything that is not a number is skipped (a label anyone could have set).
std::vector<int> parse_numbers(const std::string& text) {
  std::vector<int> numbers;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = std::min(text.find(',', start), text.size());
    int number = 0;
    auto [stop, error] = std::from_chars(text.data() + start, text.data() + end, number);
    if (error == std::errc{} && stop == text.data() + end && number >= 0) numbers.push_back(number);
    start = end + 1;
  }
  return numbers;
}

std::string label_or_empty(const ContainerInfo& container, const char* key) {
  auto found = container.labels.find(key);
  return found == container.labels.end() ? "" : found->second;
}

}  // namespace

ObservedSession observed_container(const ContainerInfo& container, ObservedPhase phase) {
  ObservedSession observed;
  observed.session_id = label_or_empty(container, kSessionLabel);
  observed.phase = phase;
  observed.user = label_or_empty(container, kUserLabel);
  observed.gpu_indices = parse_numbers(label_or_empty(container, kGpusLabel));
  observed.host_ports = parse_numbers(label_or_empty(container, kPortsLabel));
  observed.holdings_known = container.labels.contains(kGpusLabel);
  observed.image = container.image;
  return observed;
}

std::string jupyter_token_of(const std::string& settings_file) {
  auto settings = nlohmann::json::parse(settings_file, nullptr, false);
  if (!settings.is_object() || !settings.contains("NotebookApp")) return "";
  const auto& app = settings["NotebookApp"];
  if (!app.is_object() || !app.contains("token") || !app["token"].is_string()) return "";
  return app["token"].get<std::string>();
}

std::string container_name(const std::string& session_id) {
  return "gpupool-" + session_id;
}

std::string authorized_keys_text(const DesiredSession& session) {
  return join(session.authorized_keys, "\n") + "\n";
}

std::string home_volume_name(const std::string& username) {
  return "gpupool-home-" + username;
}

VolumeMount home_mount(const std::string& username, const ContainerSettings& settings) {
  const std::string target = "/home/" + username;
  if (settings.home_root.empty()) return {home_volume_name(username), target};
  return {"", target, settings.home_root + "/" + username};
}

ContainerSpec make_session_container(const DesiredSession& session,
                                     const ContainerSettings& settings) {
  ContainerSpec spec;
  spec.name = container_name(session.session_id);
  spec.image = session.image_reference;
  spec.command = {"/bin/sh", "-c", session_init_script()};
  spec.env = {
      "GPUPOOL_SESSION=" + session.session_id,
      // Where the gateway serves the session's web apps: an app on port P that must know its
      // public path (exposed with keep_path) is at $GPUPOOL_APPS_PATH<P>/.
      "GPUPOOL_APPS_PATH=/s/" + session.session_id + "/apps/",
      "GPUPOOL_USER=" + session.username,
      fmt::format("GPUPOOL_UID={}", session.uid),
      fmt::format("GPUPOOL_GID={}", session.gid > 0 ? session.gid : session.uid),
      "GPUPOOL_TOKEN=" + session.jupyter_token,
      "GPUPOOL_AUTHORIZED_KEYS=" + join(session.authorized_keys, "\n"),
      // In simulation this is the only GPU assignment; with the nvidia driver it matches the
      // DeviceRequests below. By CDI the devices are the spec's alone: "void", as NVIDIA's
      // spec sets it, so that a toolkit runtime hook adds nothing. Set here, it replaces
      // whatever the image's ENV says.
      "NVIDIA_VISIBLE_DEVICES=" +
          (session.gpu_uuids.empty() || settings.gpu_attachment == GpuAttachment::cdi
               ? std::string("void")
               : join(session.gpu_uuids, ",")),
      // CUDA and nvidia-smi, nothing more of the driver (no graphics, video or display).
      "NVIDIA_DRIVER_CAPABILITIES=compute,utility",
  };
  if (session.gpu_memory_mb > 0) {
    // The share, for the init to write where the cap reads it (a root-owned file: the
    // environment is the user's to change).
    spec.env.push_back(fmt::format("GPUPOOL_GPU_MEMORY_LIMIT_MB={}", session.gpu_memory_mb));
    if (!settings.gpu_cap_library.empty()) {
      spec.env.push_back(std::string("GPUPOOL_GPU_CAP=") + kGpuCapLibraryPath);
    }
  }
  spec.labels = {{kSessionLabel, session.session_id},
                 {kUserLabel, session.username},
                 {kNodeLabel, settings.node_name},
                 {kGpusLabel, join_numbers(session.gpu_indices)},
                 {kPortsLabel, join_numbers({session.jupyter_port, session.ssh_port})}};
  spec.user = "0";
  spec.cap_add = kInitCapabilities;
  spec.memory_bytes = session.memory_mb * 1024 * 1024;
  spec.nano_cpus = static_cast<std::int64_t>(session.cpus * 1e9);
  spec.pids_limit = kPidsLimit;
  spec.log_max_bytes = kLogMaxBytes;
  spec.disk_bytes = settings.disk_bytes;
  spec.ports = {{kJupyterContainerPort, settings.jupyter_publish_ip, session.jupyter_port},
                {kSshContainerPort, settings.publish_ip, session.ssh_port}};
  spec.mounts = {home_mount(session.username, settings)};
  for (const auto& dataset : session.datasets) {
    spec.mounts.push_back(
        {"", std::string(kDatasetsMountRoot) + "/" + dataset.name, dataset.host_path, true});
  }
  if (session.gpu_memory_mb > 0 && !settings.gpu_cap_library.empty()) {
    spec.mounts.push_back({"", kGpuCapLibraryPath, settings.gpu_cap_library, true});
  }
  if (settings.gpu_attachment == GpuAttachment::nvidia_driver) spec.gpu_uuids = session.gpu_uuids;
  if (settings.gpu_attachment == GpuAttachment::cdi) {
    for (const auto& uuid : session.gpu_uuids) spec.cdi_devices.push_back(cdi_gpu_name(uuid));
  }
  spec.hostname = session.session_id;
  spec.network = session_network_name(session.session_id);
  spec.disable_ipv6 = settings.disable_ipv6;
  return spec;
}

std::string stop_description(const ContainerStatus& status) {
  std::string text = "exit code " + std::to_string(status.exit_code);
  if (status.oom_killed) text += ", out of memory";
  return text;
}

}  // namespace gpupool::agent
