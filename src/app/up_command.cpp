#include "app/up_command.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "agent/agent.hpp"
#include "api/api.hpp"
#include "app/catalog_images.hpp"
#include "app/disk_watermark.hpp"
#include "app/email_setup.hpp"
#include "app/local_sync_channel.hpp"
#include "app/node_runtime.hpp"
#include "app/process.hpp"
#include "app/session_listeners.hpp"
#include "app/slurm_images.hpp"
#include "app/ssh_relay.hpp"
#include "app/store_choice.hpp"
#include "app/webhook_post.hpp"
#include "catalog/image_reference.hpp"
#include "catalog/image_tag.hpp"
#include "core/duration.hpp"
#include "core/ipv4.hpp"
#include "core/log.hpp"
#include "core/periodic_task.hpp"
#include "core/random.hpp"
#include "model/price.hpp"
#include "net/certificate_pin.hpp"
#include "net/http_client.hpp"
#include "net/self_signed.hpp"
#include "services/pool_history.hpp"
#include "services/sync_waits.hpp"
#include "store/postgres/postgres_store.hpp"

namespace gpupool::app {

namespace {

// First start: the admin password from GPUPOOL_ADMIN_PASSWORD, or a random one shown once
// and kept in DIR/admin-password (0600) for the operator.
Status bootstrap_admin(services::AuthService& auth, const std::filesystem::path& data_dir) {
  if (!auth.sources().local_accounts) return {};  // admins come from the directory's group
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

// Ends the sessions of nodes silent past their grace: every 5 s (a silent node sends nothing
// that would trigger it).
PeriodicTask watch_for_silent_nodes(services::SessionService& sessions) {
  return PeriodicTask(
      std::chrono::seconds(5),
      [&sessions] {
        if (auto swept = sessions.end_sessions_of_silent_nodes(); !swept)
          spdlog::warn("silent nodes: {}", swept.error().message);
      },
      PeriodicTask::First::after_interval);
}

// Halts a canary image that does measurably worse than its family's stable one, or promotes
// it after enough good starts: every 5 s.
PeriodicTask watch_rollouts(services::Rollouts& rollouts) {
  return PeriodicTask(
      std::chrono::seconds(5),
      [&rollouts] {
        if (auto watched = rollouts.watch(); !watched)
          spdlog::warn("image roll-outs: {}", watched.error().message);
      },
      PeriodicTask::First::after_interval);
}

// A sample of the pool a minute, for the portal's charts (services/pool_history.hpp).
PeriodicTask sample_the_pool(services::SessionService& sessions,
                             const services::TelemetryBoard& telemetry, Store& store,
                             const Clock& clock) {
  return PeriodicTask(
      std::chrono::seconds(60),
      [&sessions, &telemetry, &store, &clock] {
        if (auto recorded = services::record_pool_sample(sessions, telemetry, store, clock.now());
            !recorded)
          spdlog::warn("pool history: {}", recorded.error().message);
      },
      PeriodicTask::First::after_interval);  // nodes have synced by then
}

// Without --tls-cert, `gpupool server` makes its own certificate once (DATA/tls/) so that
// agents' credentials never cross the network in clear; agents pin it.
// --saved-images-registry and its limits: the registry as an image reference names it.
Result<services::ImageSaveSettings> saved_images_settings(const UpOptions& options) {
  services::ImageSaveSettings settings;
  settings.max_images = options.saved_images_per_user;
  settings.max_bytes = static_cast<std::int64_t>(options.saved_image_max_gb * 1e9);
  std::string registry = options.saved_images_registry;
  while (registry.ends_with("/")) registry.pop_back();
  if (registry.empty()) return settings;
  auto reference = catalog::parse_image_reference(registry + "/user/image:1");
  if (!reference || !reference->names_registry || reference->registry == "docker.io") {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("--saved-images-registry {}: give HOST:PORT[/PATH] of a "
                                  "registry, in lower case (e.g. gpus.lab:5000/saved)",
                                  options.saved_images_registry));
  }
  settings.registry = registry;
  return settings;
}

Status ensure_server_certificate(UpOptions& options, const std::filesystem::path& data_dir,
                                 const std::string& host) {
  if (!options.tls_cert.empty() || !options.tls_key.empty()) return {};
  auto dir = data_dir / "tls";
  options.tls_cert = (dir / "server.crt").string();
  options.tls_key = (dir / "server.key").string();
  if (std::filesystem::exists(options.tls_cert) && std::filesystem::exists(options.tls_key))
    return {};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::internal, "cannot create " + dir.string());
  GPUPOOL_TRY(net::write_self_signed_certificate(host, options.tls_cert, options.tls_key));
  spdlog::info("made a self-signed certificate for {} in {}", host, dir.string());
  return {};
}

int serve(UpOptions options, bool local_node) {
  configure_logging(options.log_level);
  init_crypto();
  rlim_t open_files = raise_open_files_limit();
  sigset_t stop_signals = block_stop_signals();

  auto listen = net::parse_http_endpoint("http://" + options.listen);
  if (!listen) return fail(fmt::format("--listen: {}", listen.error().message));

  std::filesystem::path data_dir(options.data_dir);
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec)
    return fail(fmt::format("cannot create data dir {}: {}", data_dir.string(), ec.message()));
  chmod(data_dir.c_str(), 0700);

  auto store = open_store(options.store, data_dir);
  if (!store) return fail(store.error().message);

  std::unique_ptr<NodeRuntime> node;
  if (local_node) {
    auto opened = open_node(options.node);
    if (!opened) return fail(opened.error().message);
    node = std::move(*opened);
  }

  SystemClock clock;
  auto sign_in = SignIn::make(options.auth, **store, clock);
  if (!sign_in) return fail(sign_in.error().message);
  services::AuthService auth(**store, clock, {}, (*sign_in)->sources());
  if (auto admin = bootstrap_admin(auth, data_dir); !admin) return fail(admin.error().message);
  auto registries = registry_access(options);
  if (!registries) return fail(registries.error().message);
  auto images = node ? register_catalog_images(**store, *node->engine)
                     : register_configured_images(**store, options.images, *registries);
  if (!images) return fail(images.error().message);

  std::string host = host_name();
  std::string public_host = options.public_host.empty() ? host : options.public_host;
  if (!local_node) {
    if (auto made = ensure_server_certificate(options, data_dir, public_host); !made)
      return fail(made.error().message);
  }
  services::SessionSettings session_settings;
  session_settings.registry_logins = registries->logins;
  auto prepull = images_to_prepull(**store, options.prepull, registries->logins);
  if (!prepull) return fail(prepull.error().message);
  session_settings.prepull = std::move(*prepull);
  auto image_saves = saved_images_settings(options);
  if (!image_saves) return fail(image_saves.error().message);
  session_settings.image_saves = *image_saves;
  std::unique_ptr<gateway::TcpRelay> ssh_relay;
  if (!options.ssh_gateway_ports.empty()) {
    auto range = parse_port_range("--ssh-gateway-ports", options.ssh_gateway_ports);
    if (!range) return fail(range.error().message);
    session_settings.gateway_ssh_ports = *range;
    ssh_relay = make_ssh_relay(**store);
  }
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
  session_settings.gpu_share_slack_mb = options.gpu_share_slack_mb;
  if (options.min_free_disk_mb < 0) return fail("--min-free-disk-mb must be 0 or more");
  session_settings.room_for_new_sessions = [data_dir, min_free = options.min_free_disk_mb] {
    return check_free_space(data_dir, min_free);
  };
  auto idle_window = parse_duration(options.idle_window);
  if (!idle_window) return fail("--idle-window: " + idle_window.error().message);
  auto idle_grace = parse_duration(options.idle_grace);
  if (!idle_grace) return fail("--idle-grace: " + idle_grace.error().message);
  session_settings.idle_defaults = {*idle_window, *idle_grace, options.idle_keeps, false};
  session_settings.balance_low_micros =
      std::llround(options.balance_low_credits * kMicrosPerCredit);
  session_settings.slurm = options.slurm.enabled;
  services::SessionService sessions(**store, clock, session_settings);
  services::TelemetryBoard telemetry;
  app::LocalSyncChannel channel(sessions, telemetry, clock);
  // Remote agents' syncs wait here for their node's desired state to change.
  services::SyncWaits sync_waits(
      [&sessions](const std::set<std::string>& nodes) { return sessions.desired_states(nodes); },
      [&store] { return (*store)->change_count(); });
  sessions.on_desired_change([&sync_waits] { sync_waits.changed(); });

  if (node) {
    std::string node_name = options.node.node_name.empty() ? host : options.node.node_name;
    if ((*store)->created())
      warn_of_containers_without_database(*node->engine, node_name, data_dir);
    // Users reach Jupyter only through the gateway's login; the gateway is on this machine.
    auto made = make_agent(*node, options.node, {public_host, "127.0.0.1"}, channel,
                           std::chrono::seconds(1), clock);
    if (!made) return fail(made.error().message);
  }

  bool tls = !options.tls_cert.empty() || !options.tls_key.empty();
  if (tls && (options.tls_cert.empty() || options.tls_key.empty()))
    return fail("--tls-cert and --tls-key go together");
  api::ApiSettings api_settings;
  api_settings.view = {public_host, node && node->inventory.simulated, ""};
  api_settings.secure_cookies = tls;
  agent::Agent* local_agent = node ? node->agent.get() : nullptr;
  api_settings.ready = [local_agent, &store, &clock] {
    if (local_agent != nullptr) {
      auto last = local_agent->last_successful_sync_millis();
      if (last == 0 || clock.monotonic_millis() - last >= 10'000) return false;
    }
    return (*store)->count_users().ok();
  };
  gateway::TunnelRegistry tunnels;
  api_settings.tunnels = &tunnels;
  api_settings.oidc = (*sign_in)->oidc();
  api_settings.oidc_accounts = (*sign_in)->accounts();
  api_settings.oidc_tokens = (*sign_in)->provider_tokens();
  api_settings.telemetry = &telemetry;
  api_settings.sync_waits = &sync_waits;
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
  std::vector<Ipv4Block> webhook_allow;
  for (const auto& text : options.webhook_allow) {
    auto block = parse_ipv4_block(text);
    if (!block) return fail(fmt::format("--webhook-allow {}: {}", text, block.error().message));
    webhook_allow.push_back(*block);
  }
  api_settings.check_webhook_url = make_webhook_check(webhook_allow);
  api_settings.sends_email = !options.smtp_url.empty();
  api_settings.balance_low_micros = session_settings.balance_low_micros;
  api_settings.image_saves = session_settings.image_saves;
  api_settings.resolve_digest = [access = *registries](const catalog::ImageReference& reference) {
    return catalog::resolve_digest(reference, access);
  };
  auto limits = server_limits(options, open_files, api_settings.trusted_proxies);
  if (!limits) return fail(limits.error().message);
  if (options.max_websockets_per_user < 1 || options.websocket_idle_timeout_s < 1 ||
      options.upload_limit_mb < 1) {
    return fail(
        "--max-websockets-per-user, --websocket-idle-timeout and --upload-limit-mb must be 1 or "
        "more");
  }
  api_settings.max_websockets_per_user = static_cast<std::size_t>(options.max_websockets_per_user);
  api_settings.websocket_idle_time = std::chrono::seconds(options.websocket_idle_timeout_s);
  api_settings.upload_limit_mb = options.upload_limit_mb;
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
  if (ssh_relay) {
    auto [low, high] = session_settings.gateway_ssh_ports;
    auto relayed = ssh_relay->listen(listen->host, static_cast<std::uint16_t>(low),
                                     static_cast<std::uint16_t>(high));
    if (!relayed) return fail(relayed.error().message);
    spdlog::info("SSH to sessions through this host: ports {}–{}", low, high);
  }
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
  auto emails = make_email_sender(options, **store, clock, api_settings.view.gateway_url);
  if (!emails) return fail(emails.error().message);
  SlurmLoop slurm;
  if (options.slurm.enabled) {
    auto settings = slurm_backend_settings(options.slurm, api_settings.view.gateway_url);
    if (!settings) return fail(settings.error().message);
    // A certificate this server made is no authority's: jobs are given it to check against.
    if (tls && options.tls_cert.starts_with(data_dir.string())) {
      std::ifstream pem(options.tls_cert);
      settings->ready_ca.assign(std::istreambuf_iterator<char>(pem), {});
    }
    spdlog::info("sessions run as Slurm jobs; they report to {}", settings->ready_url);
    ImageUnpacking unpacking{settings->images_dir, options.registry_auth,
                             options.insecure_registries};
    slurm = make_slurm_loop(options.slurm, std::move(*settings), sessions, **store);
    slurm.unpacker = make_image_unpacker(**store, std::move(unpacking));
    slurm.unpacker->start();
    // A new request, a stop: Slurm hears of it now, not at the next poll. (Registered before
    // the gateway serves: listeners are not added while requests run.)
    sessions.on_desired_change([task = slurm.task.get()] { task->wake(); });
    slurm.task->start();
  }
  api.emplace(api_settings, auth, sessions, **store, clock);
  // Several servers on one PostgreSQL database: what one changes wakes the others' held
  // syncs and live views, and one of them — the leader — places sessions and sweeps.
  auto* shared = dynamic_cast<PostgresStore*>(store->get());
  std::optional<PeriodicTask> leader_passes;
  if (shared != nullptr) {
    leader_passes.emplace(std::chrono::seconds(1), [&sessions, shared] {
      if (!shared->leads()) return;
      if (auto passed = sessions.reschedule(); !passed)
        spdlog::warn("scheduling: {}", passed.error().message);
    });
    PeriodicTask* passes = &*leader_passes;
    shared->on_external_change([&sync_waits, passes] {
      sync_waits.changed();
      passes->wake();  // a request another server stored
    });
    shared->lead_when_possible(fmt::format("{}:{} (pid {})", public_host, *bound, getpid()),
                               [passes] { passes->wake(); });
    leader_passes->start();
  }
  int threads = options.http_threads > 0
                    ? options.http_threads
                    : static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  http.start(threads);
  if (ssh_relay) ssh_relay->start();
  if (local_agent != nullptr) local_agent->start();
  PeriodicTask silent_nodes = watch_for_silent_nodes(sessions);
  silent_nodes.start();
  PeriodicTask pool_history = sample_the_pool(sessions, telemetry, **store, clock);
  pool_history.start();
  services::AuditLog audit(**store, clock, options.audit_retention_days);
  auto directory_checks = (*sign_in)->start_checks(auth, audit);
  services::Rollouts rollouts(**store, clock, &audit);
  PeriodicTask rollout_watch = watch_rollouts(rollouts);
  rollout_watch.start();
  services::WebhookSender webhooks(**store, clock, make_webhook_post(webhook_allow));
  webhooks.start(std::chrono::seconds(1));
  if (*emails) (*emails)->start(std::chrono::seconds(1));

  if (node) log_gpus(node->inventory);
  spdlog::info("gpupool is up: {}/ (data in {})", api_settings.view.gateway_url, data_dir.string());
  if (tls) {
    auto pin = net::certificate_pin(options.tls_cert);
    if (pin) {
      spdlog::info(
          "GPU servers join with: gpupool agent --server {}://{}:{} --ca-sha256 {} --join-token "
          "TOKEN   (a TOKEN from: gpupool admin join-token create)",
          "https", public_host, *bound, *pin);
    }
  }
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
  if (shared != nullptr) shared->stop();  // lets the lease go at once
  if (ssh_relay) ssh_relay->stop();
  if (local_agent != nullptr) local_agent->stop();
  webhooks.stop();
  if (*emails) (*emails)->stop();
  spdlog::info("stopped; the database is closed cleanly");
  return 0;
}

}  // namespace

int run_up(const UpOptions& options) {
  return serve(options, true);
}

int run_server(const UpOptions& options) {
  return serve(options, false);
}

}  // namespace gpupool::app
