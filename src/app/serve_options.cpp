#include "app/serve_options.hpp"

namespace gpupool::app {

namespace {

// What one client, user or fault may take: shown together under "Limits" in up --help.
void add_limits(CLI::App& command, UpOptions& up) {
  auto limit = [&command](const std::string& name, auto& value, const std::string& what) {
    command.add_option(name, value, what)->capture_default_str()->group("Limits");
  };
  limit("--max-connections", up.max_connections,
        "client connections the gateway holds at once; beyond, new ones are closed at once "
        "(lowered to fit the open-files limit)");
  limit("--max-connections-per-source", up.max_connections_per_source,
        "client connections from one address (a --trusted-proxy counts only in the total)");
  limit("--request-timeout", up.request_timeout_s,
        "seconds a request has from its first byte to its last (headers; a body outside /s/)");
  limit("--idle-timeout", up.idle_timeout_s,
        "seconds a connection may wait without a request (new, or kept alive)");
  limit("--max-websockets-per-user", up.max_websockets_per_user,
        "WebSockets into sessions (kernels, terminals) one user may hold open; 16 live views "
        "of the portal besides");
  limit("--websocket-idle-timeout", up.websocket_idle_timeout_s,
        "seconds a WebSocket into a session may carry nothing before it is closed");
  limit("--upload-limit-mb", up.upload_limit_mb,
        "the largest file the portal's file page uploads into a session's home (gpupool cp "
        "has no limit)");
  limit("--drain-timeout", up.drain_timeout_s,
        "seconds requests under way may take to finish after SIGTERM before they are cut");
  limit("--min-free-disk-mb", up.min_free_disk_mb,
        "free space the data directory's disk keeps: below it, new sessions are refused "
        "(running ones go on, the ledger stays writable)");
  limit("--max-queued-per-user", up.max_queued_per_user,
        "requests one user may have waiting at once, quotas or not (0: no limit)");
}

}  // namespace

void add_server_options(CLI::App& command, UpOptions& up) {
  command.add_option("--config", up.config_file,
                     "a TOML file of these options by name (listen = \"0.0.0.0:8080\") and of "
                     "sign-in ([auth]: LDAP, local accounts; docs/auth.md); the command line "
                     "wins over it");
  command.add_option("--data-dir", up.data_dir, "where the database and secrets live")
      ->capture_default_str();
  command.add_option("--store", up.store,
                     "the database: sqlite:PATH (default: DATA-DIR/gpupool.db) or "
                     "postgres://USER@HOST:PORT/DB, shared by several servers "
                     "(a password from ~/.pgpass or PGPASSFILE, not the command line)");
  command.add_option("--listen", up.listen, "HOST:PORT of the gateway")->capture_default_str();
  command.add_option("--public-host", up.public_host,
                     "host name users reach sessions at (default: hostname)");
  command.add_option("--public-url", up.public_url,
                     "where users reach this gateway, e.g. https://gpus.example.org "
                     "(default: http://PUBLIC-HOST:PORT)");
  command.add_option("--session-domain", up.session_domain,
                     "serve each session's Jupyter from its own origin, ID.DOMAIN (needs a "
                     "wildcard DNS name and certificate for *.DOMAIN; 'localhost' works on "
                     "one machine) instead of from ports of its own");
  command
      .add_option("--session-ports", up.session_ports,
                  "without --session-domain, each open session's Jupyter is served on a port "
                  "of its own: LOW-HIGH, or a count of ports for the system to pick")
      ->capture_default_str();
  command.add_option("--tls-cert", up.tls_cert,
                     "PEM certificate chain: serve HTTPS (with --tls-key); cookies become "
                     "Secure and HSTS is sent");
  command.add_option("--tls-key", up.tls_key, "PEM private key for --tls-cert");
  command.add_option("--log-level", up.log_level, "debug, info, warn or error")
      ->capture_default_str();
  command.add_option("--http-threads", up.http_threads, "gateway threads (default: one per core)");
  command
      .add_option("--audit-retention-days", up.audit_retention_days,
                  "how long the audit log keeps its entries (at least 30)")
      ->capture_default_str();
  command.add_option("--trusted-proxy", up.trusted_proxies,
                     "IPv4 block of a reverse proxy in front of the gateway whose "
                     "X-Forwarded-For names the client (repeatable); others' is ignored");
  command
      .add_option("--node-lost-after", up.node_lost_after_s,
                  "seconds a node may stay silent before its sessions end as node_lost, billed "
                  "up to its last report (at least 60)")
      ->capture_default_str();
  command
      .add_option("--gpu-share-slack-mb", up.gpu_share_slack_mb,
                  "GPU memory a share session's processes may use beyond its share, by the "
                  "driver's count (contexts, modules: the cap does not count them), before it "
                  "is stopped as gpu_share_exceeded; negative: never stopped")
      ->capture_default_str();
  command
      .add_option("--preemption-grace-seconds", up.preemption_grace_s,
                  "how long a preemptible session keeps running once chosen to make room")
      ->capture_default_str();
  command
      .add_option("--fair-share-half-life-hours", up.fair_share_half_life_hours,
                  "the queue's fair share forgets half of past GPU use this often")
      ->capture_default_str();
  command
      .add_option("--idle-window", up.idle_window,
                  "a session unused this long (no GPU, CPU, notebook or SSH activity) is "
                  "reclaimed after a warning, e.g. 2h, 90m; 0: never (per user and group: "
                  "gpupool admin idle-policy)")
      ->capture_default_str();
  command
      .add_option("--idle-grace", up.idle_grace,
                  "how long a warned session stays before it is reclaimed")
      ->capture_default_str();
  command
      .add_option("--idle-keeps", up.idle_keeps,
                  "times an owner may say \"keep it\" to restart a session's idle window")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  command.add_option("--webhook-allow", up.webhook_allow,
                     "IPv4 block users' webhooks may reach although it is private or loopback, "
                     "e.g. an internal chat relay's (repeatable)");
  command.add_option("--smtp-url", up.smtp_url,
                     "SMTP server for notifications by e-mail: smtp://HOST:PORT (STARTTLS "
                     "required) or smtps://HOST:PORT; unset: no e-mail");
  command.add_option("--smtp-from", up.smtp_from, "the address e-mails come from");
  command.add_option("--smtp-user", up.smtp_user, "SMTP login (with --smtp-password-file)");
  command.add_option("--smtp-password-file", up.smtp_password_file,
                     "file holding the SMTP password");
  command.add_option("--smtp-ca-file", up.smtp_ca_file,
                     "PEM certificates to trust for the SMTP server (default: the system's)");
  command.add_flag("--smtp-plaintext", up.smtp_plaintext,
                   "speak SMTP without TLS (only for a relay on this machine)");
  command
      .add_option("--balance-low", up.balance_low_credits,
                  "tell users whose balance falls below this many credits, unless they chose "
                  "their own threshold; 0: only those who did")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  command.add_flag("--postpaid", up.postpaid,
                   "meter costs but do not require a prepaid balance to cover them");
  add_limits(command, up);
}

void add_node_options(CLI::App& command, NodeOptions& node) {
  command.add_option("--simulate-gpus", node.simulate_gpus,
                     "simulate GPUs, e.g. 4xA100-80GB (default: NVML)");
  command.add_option("--engine", node.engine,
                     "container engine socket, unix:///path (default: detect)");
  command.add_option("--node-name", node.node_name, "this node's name (default: hostname)");
  command.add_option("--port-range", node.port_range, "host ports for session Jupyter/SSH")
      ->capture_default_str();
  command.add_option("--node-label", node.node_labels, "KEY=VALUE label of this node (repeatable)");
  command
      .add_option("--app-relay-port", node.app_relay_port,
                  "port on the Jupyter address where the gateway reaches sessions' web apps "
                  "(default: a free one)")
      ->check(CLI::Range(0, 65535));
  command
      .add_option("--session-subnets", node.session_network.subnets,
                  "IPv4 block each session's network (a /28) is taken from")
      ->capture_default_str();
  command
      .add_option("--session-firewall", node.session_network.firewall,
                  "iptables: sessions reach neither each other nor this host nor "
                  "169.254.169.254; off: no such isolation (trusted users only)")
      ->capture_default_str();
  command.add_flag("!--no-session-internet", node.session_network.internet,
                   "air-gapped: sessions reach nothing outside their own container");
  command.add_option("--session-deny", node.session_network.denied,
                     "IPv4 block sessions must not reach, e.g. the site's management LAN "
                     "(repeatable)");
  command.add_option(
      "--node-cpus", node.node_cpus,
      "CPUs sessions may reserve on this node (default: its cores; more overcommits)");
  command.add_option("--node-memory-gb", node.node_memory_gb,
                     "memory sessions may reserve on this node (default: its RAM)");
  command
      .add_option("--session-disk-gb", node.session_disk_gb,
                  "what a session may write outside its home (its container's writable "
                  "layer); needs a storage driver that bounds it: overlay2 on XFS with "
                  "pquota, btrfs or zfs (0: unbounded)")
      ->capture_default_str()
      ->group("Limits");
  command.add_option("--home-root", node.home_root,
                     "shared filesystem (NFS, CephFS, Lustre) mounted at this path on every GPU "
                     "server: homes are <path>/<user> there (default: a volume per user on "
                     "each node)");
  command
      .add_option("--activity-interval", node.activity_interval_s,
                  "seconds between measurements of each running session's use (CPU, Jupyter, "
                  "SSH) for idle reclaim")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  command
      .add_option("--ready-timeout", node.ready_timeout_s,
                  "seconds a new session's Jupyter may take to answer before its start counts "
                  "as failed (a large image's first start may need more)")
      ->check(CLI::Range(5, 3600))
      ->capture_default_str();
  command
      .add_option("--image-gc-after", node.image_gc_after,
                  "images pulled from registries that nothing has wanted this long (\"90s\", "
                  "\"2h\", \"1d\") are removed from the node; those marked for pre-pull stay; "
                  "\"0\": never")
      ->capture_default_str();
  command.add_option("--simulated-gpu-readings", node.simulated_gpu_readings,
                     "with --simulate-gpus: a JSON file the simulated GPUs read their "
                     "utilisation, memory and processes from at each reading (for tests)");
  command
      .add_option("--gpu-devices", node.gpu_devices,
                  "how the container engine gives sessions their real GPUs: cdi (by CDI name, "
                  "nvidia.com/gpu=UUID: Docker with CDI on, Podman 5.4+), nvidia (Docker's "
                  "nvidia device driver), auto (cdi where a CDI spec names every GPU, else "
                  "nvidia; Podman only by cdi)")
      ->check(CLI::IsMember({"auto", "cdi", "nvidia"}))
      ->capture_default_str();
  command.add_option("--gpu-cap-library", node.gpu_cap_library,
                     "the GPU-memory cap mounted into sessions that hold a GPU share (default: "
                     "libgpupool_gpu_cap.so beside this program, or in ../lib/gpupool)");
}

void add_agent_options(CLI::App& command, AgentOptions& agent) {
  command.add_option("--server", agent.server, "the server, https://HOST:PORT")->required();
  command.add_option("--join-token", agent.join_token,
                     "join token from `gpupool admin join-token create` (needed once: the "
                     "node's credential is kept in --state-dir)");
  command.add_option("--ca-sha256", agent.ca_sha256,
                     "pin of the server's certificate, sha256:HEX as the server prints it "
                     "(default: verify against the system's CAs)");
  command.add_option("--state-dir", agent.state_dir, "where the node's credential is kept")
      ->capture_default_str();
  command.add_option("--address", agent.address,
                     "this node's address the gateway reaches sessions' Jupyter at (default: "
                     "this machine's address on the route to the server)");
  command.add_option("--public-host", agent.public_host,
                     "host name users SSH to (default: --address)");
  command
      .add_option("--heartbeat", agent.heartbeat_s,
                  "seconds the server may hold a sync in which nothing changed (changes "
                  "arrive at once; GPU telemetry is this fresh)")
      ->check(CLI::Range(1, 30))
      ->capture_default_str();
  command
      .add_option("--sync-protocol", agent.sync_protocol,
                  "sync protocol version to speak: 1 is the previous release's, without the "
                  "long poll (it speaks down by itself to a server that is older)")
      ->check(CLI::Range(protocol::kOldestSyncProtocol, protocol::kSyncProtocol))
      ->capture_default_str();
  command.add_option("--log-level", agent.log_level, "debug, info, warn or error")
      ->capture_default_str();
  add_node_options(command, agent.node);
}

}  // namespace gpupool::app
