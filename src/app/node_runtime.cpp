#include "app/node_runtime.hpp"

#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "agent/shared_homes.hpp"
#include "app/app_relay.hpp"
#include "app/gpu_node_checks.hpp"
#include "app/session_disk.hpp"
#include "core/duration.hpp"
#include "core/log.hpp"

namespace gpupool::app {

namespace {

constexpr const char* kDefaultSimulation = "4xA100-80GB";

Result<std::unique_ptr<GpuProbe>> choose_gpu_probe(const std::string& simulate,
                                                   const std::string& readings_file) {
  if (!simulate.empty()) return make_simulated_gpu_probe(simulate, readings_file);
  if (!readings_file.empty())
    return make_error(ErrorCode::invalid_argument,
                      "--simulated-gpu-readings goes with --simulate-gpus only");
  auto nvml = make_nvml_gpu_probe();
  if (nvml) return nvml;
  spdlog::warn("no NVIDIA GPUs found ({}); SIMULATING {} — sessions get no real GPU",
               nvml.error().message, kDefaultSimulation);
  return make_simulated_gpu_probe(kDefaultSimulation);
}

std::int64_t physical_memory_mb() {
  return static_cast<std::int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE) /
         (1024 * 1024);
}

}  // namespace

Result<std::pair<int, int>> parse_port_range(const std::string& option, const std::string& text) {
  int low = 0;
  int high = 0;
  char dash = 0;
  std::istringstream in(text);
  if (!(in >> low >> dash >> high) || dash != '-' || low < 1024 || high > 65535 || high - low < 1) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("{} \"{}\": expected LOW-HIGH within 1024-65535", option, text));
  }
  return std::pair{low, high};
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

Result<std::unique_ptr<NodeRuntime>> open_node(const NodeOptions& options) {
  auto node = std::make_unique<NodeRuntime>();
  auto probe = choose_gpu_probe(options.simulate_gpus, options.simulated_gpu_readings);
  if (!probe) return probe.error();
  node->probe = std::move(*probe);
  auto inventory = node->probe->discover();
  if (!inventory) return inventory.error();
  node->inventory = std::move(*inventory);
  auto cap_library = find_gpu_cap_library(options.gpu_cap_library);
  if (!cap_library) return cap_library.error();
  node->gpu_cap_library = *cap_library;
  if (!node->inventory.simulated) {
    // Real GPUs: no session starts on a toolkit with known escapes, nor shares without their
    // cap.
    auto toolkit = check_container_toolkit();
    if (!toolkit) return toolkit.error();
    spdlog::info("NVIDIA container toolkit {}", *toolkit);
    if (node->gpu_cap_library.empty()) {
      return make_error(ErrorCode::unavailable,
                        "the GPU-memory cap (libgpupool_gpu_cap.so) is neither beside gpupool "
                        "nor in ../lib/gpupool: GPU shares could not be enforced; install it "
                        "or name it with --gpu-cap-library");
    }
  }

  node->engine_address = options.engine;
  if (node->engine_address.empty()) {
    auto detected = detect_engine_address();
    if (!detected) return detected.error();
    node->engine_address = *detected;
  }
  auto engine = make_docker_api_engine(node->engine_address);
  if (!engine) return engine.error();
  node->engine = std::move(*engine);
  auto identity = node->engine->identify();
  if (!identity) return identity.error();
  spdlog::info("container engine at {}: {}", node->engine_address, identity->describe());
  node->engine_identity = *identity;
  if (!node->inventory.simulated) {
    auto attachment = choose_gpu_attachment(*identity, options.gpu_devices, node->inventory);
    if (!attachment) return attachment.error();
    node->gpu_attachment = *attachment;
  }

  if (options.session_disk_gb < 0)
    return make_error(ErrorCode::invalid_argument, "--session-disk-gb must be 0 or more");
  GPUPOOL_TRY(check_disk_bound(*node->engine, std::int64_t{options.session_disk_gb} << 30));
  if (!options.home_root.empty()) GPUPOOL_TRY(agent::check_home_root(options.home_root));
  auto network = make_session_network(options.session_network);
  if (!network) return network.error();
  node->network = std::move(*network);
  return node;
}

Status make_agent(NodeRuntime& node, const NodeOptions& options, const NodeAddresses& addresses,
                  agent::SyncChannel& channel, std::chrono::milliseconds sync_interval,
                  const Clock& clock) {
  auto ports = parse_port_range("--port-range", options.port_range);
  if (!ports) return ports.error();
  agent::AgentSettings settings;
  settings.sync_interval = sync_interval;
  settings.node.name = options.node_name.empty() ? host_name() : options.node_name;
  GPUPOOL_TRY(check_node_name(settings.node.name));
  settings.node.address = addresses.public_host;
  settings.node.cpus = options.node_cpus > 0
                           ? options.node_cpus
                           : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  settings.node.memory_mb = options.node_memory_gb > 0 ? std::int64_t{options.node_memory_gb} * 1024
                                                       : physical_memory_mb();
  for (const auto& label : options.node_labels) {
    auto equals = label.find('=');
    if (equals == std::string::npos || equals == 0) {
      return make_error(ErrorCode::invalid_argument,
                        fmt::format("--node-label \"{}\": expected KEY=VALUE", label));
    }
    settings.node.labels[label.substr(0, equals)] = label.substr(equals + 1);
  }
  settings.node.port_min = ports->first;
  settings.node.port_max = ports->second;
  settings.container.node_name = settings.node.name;
  settings.container.gpu_attachment = node.gpu_attachment;
  settings.node.engine = node.engine_identity.describe();
  settings.node.gpu_devices = agent::gpu_attachment_name(node.gpu_attachment);
  // Users reach Jupyter only through the gateway's login: published where the gateway
  // connects, nowhere else.
  settings.container.jupyter_publish_ip = addresses.jupyter_address;
  settings.readiness_host = addresses.jupyter_address;
  settings.container.disable_ipv6 = std::filesystem::exists("/proc/sys/net/ipv6");
  settings.container.disk_bytes = std::int64_t{options.session_disk_gb} << 30;
  settings.container.home_root = options.home_root;
  settings.container.gpu_cap_library = node.gpu_cap_library;
  while (settings.container.home_root.size() > 1 && settings.container.home_root.back() == '/') {
    settings.container.home_root.pop_back();
  }
  settings.node.shared_homes = !settings.container.home_root.empty();
  settings.session_subnets = node.network.subnets;
  settings.activity_interval = std::chrono::seconds(options.activity_interval_s);
  settings.ready_timeout = std::chrono::seconds(options.ready_timeout_s);
  auto gc_after = parse_duration(options.image_gc_after);
  if (!gc_after)
    return make_error(ErrorCode::invalid_argument, "--image-gc-after: " + gc_after.error().message);
  settings.housekeeping.collect_after = std::chrono::milliseconds(*gc_after);
  // Measured often enough that an image goes within half its time again after it is due.
  settings.housekeeping.interval = std::chrono::milliseconds(
      *gc_after > 0 ? std::clamp<UnixMillis>(*gc_after / 2, 5'000, 300'000) : 300'000);
  node.app_relay = make_app_relay([&node](const std::string& session_id, const std::string& token) {
    return node.agent->app_address(session_id, token);
  });
  auto relay_port = node.app_relay->listen_one(addresses.jupyter_address,
                                               static_cast<std::uint16_t>(options.app_relay_port));
  if (!relay_port)
    return make_error(relay_port.error().code, "app relay: " + relay_port.error().message);
  settings.node.app_relay_port = *relay_port;
  spdlog::info("app relay: sessions' web apps reached at {}:{}", addresses.jupyter_address,
               *relay_port);
  node.readiness = std::make_unique<agent::HttpReadinessCheck>(settings.readiness_host);
  node.activity =
      std::make_unique<agent::LiveActivitySensor>(*node.engine, settings.readiness_host);
  node.agent =
      std::make_unique<agent::Agent>(settings, channel, *node.engine, *node.network.firewall,
                                     *node.probe, *node.readiness, *node.activity, clock);
  node.app_relay->start();
  return {};
}

void log_gpus(const GpuInventory& inventory) {
  if (inventory.simulated) {
    spdlog::warn("GPUs are SIMULATED: {} × {} (no real GPU is given to sessions)",
                 inventory.gpus.size(),
                 inventory.gpus.empty() ? "?" : inventory.gpus.front().model);
  } else {
    spdlog::info("{} NVIDIA GPU(s), driver supports CUDA {}", inventory.gpus.size(),
                 inventory.driver_cuda);
  }
}

}  // namespace gpupool::app
