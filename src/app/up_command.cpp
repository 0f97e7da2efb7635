#include "app/up_command.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "agent/agent.hpp"
#include "api/api.hpp"
#include "app/disk_watermark.hpp"
#include "app/local_sync_channel.hpp"
#include "app/session_disk.hpp"
#include "app/session_listeners.hpp"
#include "catalog/image_tag.hpp"
#include "core/ipv4.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "net/http_client.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace gpupool::app {

namespace {

constexpr const char* kDefaultSimulation = "4xA100-80GB";
constexpr const char* kDefaultImageTag = "pytorch1.13-cpu-debian12-runtime";
constexpr const char* kDefaultImageReference = "gpupool/session:pytorch1.13-cpu-debian12-runtime";
constexpr const char* kImageTagLabel = "io.gpupool.image.tag";

int fail(const std::string& message) {
  spdlog::error("{}", message);
  return 1;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

Result<std::pair<int, int>> parse_port_range(const std::string& text) {
  int low = 0;
  int high = 0;
  char dash = 0;
  std::istringstream in(text);
  if (!(in >> low >> dash >> high) || dash != '-' || low < 1024 || high > 65535 || high - low < 1) {
    return make_error(
        ErrorCode::invalid_argument,
        fmt::format("--port-range \"{}\": expected LOW-HIGH within 1024-65535", text));
  }
  return std::pair{low, high};
}

Result<std::unique_ptr<GpuProbe>> choose_gpu_probe(const std::string& simulate) {
  if (!simulate.empty()) return make_simulated_gpu_probe(simulate);
  auto nvml = make_nvml_gpu_probe();
  if (nvml) return nvml;
  spdlog::warn("no NVIDIA GPUs found ({}); SIMULATING {} — sessions get no real GPU",
               nvml.error().message, kDefaultSimulation);
  return make_simulated_gpu_probe(kDefaultSimulation);
}

// First start: the admin password from GPUPOOL_ADMIN_PASSWORD, or a random one shown once
// and kept in DIR/admin-password (0600) for the operator.
Status bootstrap_admin(services::AuthService& auth, const std::filesystem::path& data_dir) {
  const char* from_env = std::getenv("GPUPOOL_ADMIN_PASSWORD");
  std::string password = from_env && *from_env ? from_env : random_token(18);
  auto created = auth.bootstrap_admin(password);
  if (!created) return created.error();
  if (!*created) return {};
  if (from_env && *from_env) {
    spdlog::info("created user admin with the password from GPUPOOL_ADMIN_PASSWORD");
    return {};
  }
  auto path = data_dir / "admin-password";
  {
    std::ofstream out(path, std::ios::trunc);
    out << password << "\n";
  }
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::cout << fmt::format(
                   "\n  Created user admin with password: {}\n  (saved to {}, mode 0600)\n\n",
                   password, path.string())
            << std::flush;
  return {};
}

// A new database next to session containers of this node: the old one was lost or replaced.
// Nothing is removed (unknown_containers.hpp), but the operator must hear of it at once.
void warn_of_containers_without_database(ContainerEngine& engine, const std::string& node,
                                         const std::filesystem::path& data_dir) {
  auto containers = engine.list_containers("io.gpupool.node=" + node);
  if (!containers || containers->empty()) return;
  spdlog::error(
      "{} is a NEW database, but node {} runs {} session container(s): was the database lost "
      "or replaced? They are left running, their GPUs and ports fenced. Restore a backup "
      "(docs/operations.md) or remove them one by one (gpupool admin unknown).",
      (data_dir / "gpupool.db").string(), node, containers->size());
}

// Every connection, tunnel and engine call holds a descriptor: take all the system allows
// (the hard limit) rather than the soft 1024 most shells start with. Returns the limit now.
rlim_t raise_open_files_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur == limit.rlim_max) return limit.rlim_cur;
  rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return before;
  spdlog::info("open files: raised the limit from {} to {}", before, limit.rlim_max);
  return limit.rlim_max;
}

// Descriptors kept for the store, the engine's socket, logs and the session listeners.
constexpr rlim_t kDescriptorsBesideClients = 512;

// The gateway's limits from the options. A proxied connection holds two descriptors (the
// client's and the session's), so the connection cap must leave that much room under the
// open-files limit: past it, accept() fails and nothing else (the store, the engine) could
// open a file either.
Result<gateway::ServerLimits> server_limits(const UpOptions& options, rlim_t open_files,
                                            const std::vector<Ipv4Block>& trusted_proxies) {
  if (options.max_connections < 1 || options.max_connections_per_source < 1 ||
      options.request_timeout_s < 1 || options.idle_timeout_s < 1) {
    return make_error(ErrorCode::invalid_argument,
                      "--max-connections, --max-connections-per-source, --request-timeout and "
                      "--idle-timeout must be 1 or more");
  }
  gateway::ServerLimits limits;
  limits.connections.total = static_cast<std::size_t>(options.max_connections);
  rlim_t room = open_files > kDescriptorsBesideClients * 2
                    ? (open_files - kDescriptorsBesideClients) / 2
                    : open_files / 4;
  if (limits.connections.total > room) {
    spdlog::warn(
        "--max-connections {} needs about {} open files, but the limit is {}: holding at most "
        "{} connections (raise `ulimit -n` or LimitNOFILE= to allow more)",
        options.max_connections, 2 * options.max_connections + kDescriptorsBesideClients,
        open_files, room);
    limits.connections.total = room;
  }
  limits.connections.per_source = static_cast<std::size_t>(options.max_connections_per_source);
  limits.connections.unlimited_source = [trusted_proxies](const std::string& address) {
    auto parsed = parse_ipv4(address);
    return parsed && std::any_of(trusted_proxies.begin(), trusted_proxies.end(),
                                 [&](const Ipv4Block& block) { return block.contains(*parsed); });
  };
  limits.request_time = std::chrono::seconds(options.request_timeout_s);
  limits.idle_time = std::chrono::seconds(options.idle_timeout_s);
  return limits;
}

// A silent node sends nothing that would end its sessions: this looks every few seconds.
class WatchForSilentNodes {
 public:
  explicit WatchForSilentNodes(services::SessionService& sessions)
      : thread_([this, &sessions] {
          std::unique_lock lock(mutex_);
          while (!wake_.wait_for(lock, std::chrono::seconds(5), [this] { return stopping_; })) {
            lock.unlock();
            if (auto swept = sessions.end_sessions_of_silent_nodes(); !swept)
              spdlog::warn("silent nodes: {}", swept.error().message);
            lock.lock();
          }
        }) {}
  ~WatchForSilentNodes() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  WatchForSilentNodes(const WatchForSilentNodes&) = delete;
  WatchForSilentNodes& operator=(const WatchForSilentNodes&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: it starts once the rest is made
};

// The catalog: every engine image labelled io.gpupool.image.tag with a valid semantic tag
// (images/*/ recipes set it); the offline Debian image is the default.
Status register_catalog_images(Store& store, ContainerEngine& engine) {
  auto images = engine.list_images(kImageTagLabel);
  if (!images) return images.error();
  bool default_present = false;
  for (const auto& image : *images) {
    const std::string& tag_text = image.labels.at(kImageTagLabel);
    auto tag = catalog::parse_image_tag(tag_text);
    if (!tag) {
      spdlog::warn("image {} skipped: {}", image.reference, tag.error().message);
      continue;
    }
    bool is_default = tag_text == kDefaultImageTag;
    default_present = default_present || is_default;
    GPUPOOL_TRY(
        store.upsert_image({tag_text, image.reference, tag->framework, tag->framework_version,
                            tag->cuda, tag->cudnn, tag->flavor, is_default, "available"}));
    spdlog::info("catalog: {} ({})", tag_text, image.reference);
  }
  if (!default_present) {
    spdlog::warn(
        "default image {} is not in the engine; build it with images/debian-jupyter/build.sh",
        kDefaultImageReference);
    auto tag = catalog::parse_image_tag(kDefaultImageTag);
    GPUPOOL_TRY(store.upsert_image({kDefaultImageTag, kDefaultImageReference, tag->framework,
                                    tag->framework_version, tag->cuda, tag->cudnn, tag->flavor,
                                    true, "missing"}));
  }
  return {};
}

std::int64_t physical_memory_mb() {
  return static_cast<std::int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE) /
         (1024 * 1024);
}

}  // namespace

int run_up(const UpOptions& options) {
  configure_logging(options.log_level);
  init_crypto();
  rlim_t open_files = raise_open_files_limit();

  // Block the stop signals in every thread; main waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto listen = net::parse_http_endpoint("http://" + options.listen);
  if (!listen) return fail(fmt::format("--listen: {}", listen.error().message));
  auto ports = parse_port_range(options.port_range);
  if (!ports) return fail(ports.error().message);

  std::filesystem::path data_dir(options.data_dir);
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec)
    return fail(fmt::format("cannot create data dir {}: {}", data_dir.string(), ec.message()));
  chmod(data_dir.c_str(), 0700);

  auto store = SqliteStore::open((data_dir / "gpupool.db").string());
  if (!store) return fail(store.error().message);

  auto probe = choose_gpu_probe(options.simulate_gpus);
  if (!probe) return fail(probe.error().message);
  auto inventory = (*probe)->discover();
  if (!inventory) return fail(inventory.error().message);

  std::string engine_address = options.engine;
  if (engine_address.empty()) {
    auto detected = detect_engine_address();
    if (!detected) return fail(detected.error().message);
    engine_address = *detected;
  }
  auto engine = make_docker_api_engine(engine_address);
  if (!engine) return fail(engine.error().message);
  auto engine_version = (*engine)->version();
  if (!engine_version) return fail(engine_version.error().message);
  spdlog::info("container engine at {}: {}", engine_address, *engine_version);

  SystemClock clock;
  services::AuthService auth(**store, clock);
  if (auto admin = bootstrap_admin(auth, data_dir); !admin) return fail(admin.error().message);
  if (auto images = register_catalog_images(**store, **engine); !images)
    return fail(images.error().message);

  std::string host = host_name();
  std::string public_host = options.public_host.empty() ? host : options.public_host;
  services::SessionSettings session_settings;
  session_settings.preemption_grace = std::int64_t{options.preemption_grace_s} * 1000;
  if (options.fair_share_half_life_hours <= 0)
    return fail("--fair-share-half-life-hours must be above 0");
  session_settings.fair_share_half_life =
      static_cast<UnixMillis>(options.fair_share_half_life_hours * 3600 * 1000);
  session_settings.prepaid = !options.postpaid;
  if (options.max_queued_per_user < 0) return fail("--max-queued-per-user must be 0 or more");
  session_settings.max_queued_per_user = options.max_queued_per_user;
  if (options.node_lost_after_s < 60) return fail("--node-lost-after must be at least 60");
  session_settings.node_lost_after = std::int64_t{options.node_lost_after_s} * 1000;
  if (options.min_free_disk_mb < 0) return fail("--min-free-disk-mb must be 0 or more");
  session_settings.room_for_new_sessions = [data_dir, min_free = options.min_free_disk_mb] {
    return check_free_space(data_dir, min_free);
  };
  services::SessionService sessions(**store, clock, session_settings);
  services::TelemetryBoard telemetry;
  app::LocalSyncChannel channel(sessions, telemetry, clock);

  agent::AgentSettings agent_settings;
  agent_settings.node.name = options.node_name.empty() ? host : options.node_name;
  if ((*store)->created())
    warn_of_containers_without_database(**engine, agent_settings.node.name, data_dir);
  agent_settings.node.address = public_host;
  agent_settings.node.cpus =
      options.node_cpus > 0 ? options.node_cpus
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  agent_settings.node.memory_mb = options.node_memory_gb > 0
                                      ? std::int64_t{options.node_memory_gb} * 1024
                                      : physical_memory_mb();
  for (const auto& label : options.node_labels) {
    auto equals = label.find('=');
    if (equals == std::string::npos || equals == 0)
      return fail(fmt::format("--node-label \"{}\": expected KEY=VALUE", label));
    agent_settings.node.labels[label.substr(0, equals)] = label.substr(equals + 1);
  }
  agent_settings.node.port_min = ports->first;
  agent_settings.node.port_max = ports->second;
  agent_settings.container.node_name = agent_settings.node.name;
  agent_settings.container.real_gpus = !inventory->simulated;
  // Users reach Jupyter only through the gateway's login; the gateway is on this machine.
  agent_settings.container.jupyter_publish_ip = "127.0.0.1";
  agent_settings.container.disable_ipv6 = std::filesystem::exists("/proc/sys/net/ipv6");
  if (options.session_disk_gb < 0) return fail("--session-disk-gb must be 0 or more");
  agent_settings.container.disk_bytes = std::int64_t{options.session_disk_gb} << 30;
  if (auto bounded = check_disk_bound(**engine, **store, agent_settings.container.disk_bytes);
      !bounded)
    return fail(bounded.error().message);
  auto session_network = make_session_network(options.session_network);
  if (!session_network) return fail(session_network.error().message);
  agent_settings.session_subnets = session_network->subnets;
  agent::HttpReadinessCheck readiness(agent_settings.readiness_host);
  agent::Agent agent(agent_settings, channel, **engine, *session_network->firewall, **probe,
                     readiness, clock);

  bool tls = !options.tls_cert.empty() || !options.tls_key.empty();
  if (tls && (options.tls_cert.empty() || options.tls_key.empty()))
    return fail("--tls-cert and --tls-key go together");
  api::ApiSettings api_settings;
  api_settings.view = {public_host, inventory->simulated, ""};
  api_settings.secure_cookies = tls;
  api_settings.ready = [&agent, &store, &clock] {
    auto last = agent.last_successful_sync_millis();
    return last != 0 && clock.monotonic_millis() - last < 10'000 && (*store)->count_users().ok();
  };
  gateway::TunnelRegistry tunnels;
  api_settings.tunnels = &tunnels;
  api_settings.telemetry = &telemetry;
  api_settings.prepaid = session_settings.prepaid;
  if (options.audit_retention_days < services::kMinAuditRetentionDays)
    return fail(fmt::format("--audit-retention-days must be at least {}",
                            services::kMinAuditRetentionDays));
  api_settings.audit_retention_days = options.audit_retention_days;
  for (const auto& text : options.trusted_proxies) {
    auto block = parse_ipv4_block(text);
    if (!block) return fail(fmt::format("--trusted-proxy {}: {}", text, block.error().message));
    api_settings.trusted_proxies.push_back(*block);
  }
  auto limits = server_limits(options, open_files, api_settings.trusted_proxies);
  if (!limits) return fail(limits.error().message);
  if (options.max_websockets_per_user < 1 || options.websocket_idle_timeout_s < 1)
    return fail("--max-websockets-per-user and --websocket-idle-timeout must be 1 or more");
  api_settings.max_websockets_per_user = static_cast<std::size_t>(options.max_websockets_per_user);
  api_settings.websocket_idle_time = std::chrono::seconds(options.websocket_idle_timeout_s);
  std::optional<api::Api> api;  // made once the port is bound: its links name it
  gateway::HttpServer http(
      [&api](const gateway::HttpExchange& exchange) { return api->handle(exchange); },
      [&api](const gateway::HttpExchange& exchange) { return api->route_proxy(exchange); },
      &tunnels);
  http.set_limits(std::move(*limits));
  if (tls) {
    if (auto loaded = http.use_tls(options.tls_cert, options.tls_key); !loaded)
      return fail(loaded.error().message);
  }
  auto bound = http.listen(listen->host, listen->port);
  if (!bound) return fail(bound.error().message);
  if (options.session_domain.empty()) {
    auto session_ports = listen_for_sessions(http, listen->host, options.session_ports);
    if (!session_ports) return fail(session_ports.error().message);
    api_settings.session_ports = std::move(*session_ports);
    spdlog::info(
        "sessions' Jupyter is served on {} port(s) of their own ({}–{}), so that notebook "
        "code cannot act with the login of whoever opens it",
        api_settings.session_ports.size(),
        *std::min_element(api_settings.session_ports.begin(), api_settings.session_ports.end()),
        *std::max_element(api_settings.session_ports.begin(), api_settings.session_ports.end()));
  }
  api_settings.view.gateway_url =
      options.public_url.empty()
          ? fmt::format("{}://{}:{}", tls ? "https" : "http", public_host, *bound)
          : options.public_url;
  bool domain_ok =
      std::all_of(options.session_domain.begin(), options.session_domain.end(),
                  [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
                  }) &&
      !options.session_domain.starts_with('.') && !options.session_domain.ends_with('.');
  if (!domain_ok)
    return fail("--session-domain must be a lower-case DNS name, e.g. sessions.example.org");
  api_settings.session_domain = options.session_domain;
  api.emplace(api_settings, auth, sessions, **store, clock);
  int threads = options.http_threads > 0
                    ? options.http_threads
                    : static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  http.start(threads);
  agent.start();
  WatchForSilentNodes silent_nodes(sessions);

  if (inventory->simulated) {
    spdlog::warn("GPUs are SIMULATED: {} × {} (no real GPU is given to sessions)",
                 inventory->gpus.size(),
                 inventory->gpus.empty() ? "?" : inventory->gpus.front().model);
  } else {
    spdlog::info("{} NVIDIA GPU(s), driver supports CUDA {}", inventory->gpus.size(),
                 inventory->driver_cuda);
  }
  spdlog::info("gpupool is up: {}/ (data in {})", api_settings.view.gateway_url, data_dir.string());
  std::cout << fmt::format("listening on port {}", *bound) << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("received {}, shutting down; session containers keep running",
               strsignal(signal_number));
  // Requests under way finish (a download, an upload); idle connections, live views and
  // WebSockets close now, and browsers reconnect to whichever gateway answers next.
  std::size_t cut = http.drain(std::chrono::seconds(options.drain_timeout_s));
  if (cut > 0) {
    spdlog::warn("{} connection(s) still busy after {} s: cut", cut, options.drain_timeout_s);
  } else {
    spdlog::info("every connection drained");
  }
  http.stop();
  agent.stop();
  spdlog::info("stopped; the database is closed cleanly");
  return 0;
}

}  // namespace gpupool::app
