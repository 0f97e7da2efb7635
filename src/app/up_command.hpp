// `gpupool up`: server and local agent in one process, on one machine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/session_network_options.hpp"
#include "app/sign_in_setup.hpp"
#include "app/slurm_setup.hpp"

namespace gpupool::app {

// What a GPU server offers and how its sessions run: `up`'s local node, or `gpupool agent`.
struct NodeOptions {
  std::string simulate_gpus;  // empty: NVML, else the default simulation
  std::string engine;         // empty: auto-detect
  std::string node_name;      // empty: this host's name
  std::string port_range = "30000-30999";
  int node_cpus = 0;       // CPUs sessions may reserve; 0: this machine's (more overcommits)
  int node_memory_gb = 0;  // memory sessions may reserve; 0: this machine's
  std::vector<std::string> node_labels;  // "key=value", for sessions' node selectors
  SessionNetworkOptions session_network;
  int session_disk_gb = 0;  // a session's writable layer at most; 0: unbounded
  std::string home_root;    // set: homes on this shared filesystem path (agent/shared_homes.hpp)
  std::string gpu_cap_library;         // the GPU-memory cap (src/gpu_cap); empty: beside the binary
  std::string gpu_devices = "auto";    // how the engine hands out real GPUs (agent/gpu_attachment)
  int activity_interval_s = 30;        // how often running sessions' use is measured (idle reclaim)
  int ready_timeout_s = 180;           // how long a new session's Jupyter may take to answer
  std::string image_gc_after = "24h";  // unused pulled images removed after this; "0": never
  int app_relay_port = 0;  // where the app relay listens (app_relay.hpp); 0: a free port
  // With simulate_gpus: a JSON file the simulated GPUs read their figures from at each
  // reading (gpu/gpu_probe.hpp), so that a test can make them busy.
  std::string simulated_gpu_readings;
};

struct UpOptions {
  std::string config_file;  // read before the command line (app/config_file.hpp)
  AuthConfig auth;          // the config file's [auth]: where users sign in
  std::string data_dir = "/var/lib/gpupool";
  // Where the state lives: "" for SQLite in the data dir, sqlite:PATH, or a PostgreSQL URL
  // (postgres://…) that several servers share.
  std::string store;
  std::string listen = "0.0.0.0:8080";
  std::string public_host;  // empty: this host's name
  std::string
      session_domain;  // set: sessions' Jupyter at <id>.<domain> (services/session_passes.hpp)
  std::string session_ports = "8100-8299";  // without session_domain: a port per open session
  std::string public_url;  // where users reach the gateway; empty: http(s)://public_host:port
  std::string tls_cert;    // PEM certificate chain; with tls_key, the gateway speaks HTTPS
  std::string tls_key;
  std::string log_level = "info";
  int http_threads = 0;                      // 0: one per core, at least 2
  int preemption_grace_s = 60;               // how long a preempted session keeps running
  double fair_share_half_life_hours = 24;    // fair share forgets half of past use this often
  bool postpaid = false;                     // record costs but let balances go below zero
  std::vector<std::string> trusted_proxies;  // IPv4 blocks whose X-Forwarded-For is believed
  int audit_retention_days = 365;            // at least 30
  int max_queued_per_user = 16;              // requests one user may have waiting; 0: no limit
  // The gateway's limits (gateway/http_server.hpp, api::ApiSettings).
  int max_connections = 10000;
  int max_connections_per_source = 256;
  int request_timeout_s = 30;
  int idle_timeout_s = 60;
  int max_websockets_per_user = 128;
  int websocket_idle_timeout_s = 3600;
  int upload_limit_mb = 4096;
  int drain_timeout_s = 10;
  int node_lost_after_s = 300;
  // GPU memory a share session may use beyond its share, by the driver's count, before it is
  // stopped (services::SessionSettings::gpu_share_slack_mb); negative: never.
  int gpu_share_slack_mb = 1536;
  int min_free_disk_mb = 1024;  // below this free on the data dir's disk, no new sessions
  // Catalog entries of `gpupool server` (no local engine to read them from): TAG=REFERENCE.
  std::vector<std::string> images;
  std::string registry_auth;                     // docker config.json with registry logins
  std::vector<std::string> insecure_registries;  // HOST:PORT spoken to over plain HTTP
  std::vector<std::string> prepull;              // catalog tags every node pulls ahead
  // Sessions saved as their owners' images (services/image_saves.hpp): "" saves none.
  std::string saved_images_registry;  // HOST:PORT[/PATH]
  int saved_images_per_user = 5;
  double saved_image_max_gb = 20;
  std::string ssh_gateway_ports;  // "LOW-HIGH": SSH through the gateway host (app/ssh_relay.hpp)
  // Idle reclaim's default policy (services/idle_rules.hpp), as durations ("2h", "15m", "0").
  std::string idle_window = "2h";  // "0": sessions are never reclaimed
  std::string idle_grace = "15m";
  int idle_keeps = 3;
  // IPv4 blocks users' webhooks may reach although private (net/webhook_target.hpp).
  std::vector<std::string> webhook_allow;
  // Notifications by e-mail (app/email_setup.hpp, net/smtp_client.hpp): none without smtp_url.
  std::string smtp_url;  // smtp://HOST[:PORT] (STARTTLS) or smtps://HOST[:PORT]
  std::string smtp_from;
  std::string smtp_user;
  std::string smtp_password_file;
  std::string smtp_ca_file;
  bool smtp_plaintext = false;     // smtp:// without STARTTLS: a relay on this machine
  double balance_low_credits = 0;  // users who chose no threshold are told below this; 0: not
  NodeOptions node;                // `up` only: its local node
  SlurmOptions slurm;              // `server` only: sessions as Slurm jobs
};

// Each runs until SIGINT or SIGTERM and returns the process exit code. `up` is the server
// with a local node; `server` has none and waits for agents to join.
int run_up(const UpOptions& options);
int run_server(const UpOptions& options);

}  // namespace gpupool::app
