// gpupool: one binary for the server, the agent, `up` (both on one machine) and the CLI.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "app/account_cli.hpp"
#include "app/backup_command.hpp"
#include "app/gpus_command.hpp"
#include "app/sim_command.hpp"
#include "app/up_command.hpp"
#include "cli/admin_commands.hpp"
#include "cli/commands.hpp"
#include "cli/usage_commands.hpp"

namespace {

// What one client, user or fault may take: shown together under "Limits" in up --help.
void add_up_limits(CLI::App& up_command, gpupool::app::UpOptions& up) {
  auto limit = [&up_command](const std::string& name, auto& value, const std::string& what) {
    up_command.add_option(name, value, what)->capture_default_str()->group("Limits");
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
  limit("--drain-timeout", up.drain_timeout_s,
        "seconds requests under way may take to finish after SIGTERM before they are cut");
  limit("--min-free-disk-mb", up.min_free_disk_mb,
        "free space the data directory's disk keeps: below it, new sessions are refused "
        "(running ones go on, the ledger stays writable)");
  limit("--session-disk-gb", up.session_disk_gb,
        "what a session may write outside its home (its container's writable layer); needs a "
        "storage driver that bounds it: overlay2 on XFS with pquota, btrfs or zfs (0: unbounded)");
  limit("--max-queued-per-user", up.max_queued_per_user,
        "requests one user may have waiting at once, quotas or not (0: no limit)");
}

int run(int argc, char** argv) {
  CLI::App app{"gpupool: self-hosted GPU sharing — Jupyter and SSH sessions on pooled GPUs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "gpupool 0.1.0");

  gpupool::app::UpOptions up;
  auto* up_command = app.add_subcommand("up", "run server and local agent on this machine");
  up_command->add_option("--data-dir", up.data_dir, "where the database and secrets live")
      ->capture_default_str();
  up_command->add_option("--listen", up.listen, "HOST:PORT of the gateway")->capture_default_str();
  up_command->add_option("--simulate-gpus", up.simulate_gpus,
                         "simulate GPUs, e.g. 4xA100-80GB (default: NVML)");
  up_command->add_option("--engine", up.engine,
                         "container engine socket, unix:///path (default: detect)");
  up_command->add_option("--public-host", up.public_host,
                         "host name users reach sessions at (default: hostname)");
  up_command->add_option("--public-url", up.public_url,
                         "where users reach this gateway, e.g. https://gpus.example.org "
                         "(default: http://PUBLIC-HOST:PORT)");
  up_command->add_option("--session-domain", up.session_domain,
                         "serve each session's Jupyter from its own origin, ID.DOMAIN (needs a "
                         "wildcard DNS name and certificate for *.DOMAIN; 'localhost' works on "
                         "one machine) instead of from ports of its own");
  up_command
      ->add_option("--session-ports", up.session_ports,
                   "without --session-domain, each open session's Jupyter is served on a port "
                   "of its own: LOW-HIGH, or a count of ports for the system to pick")
      ->capture_default_str();
  up_command->add_option("--tls-cert", up.tls_cert,
                         "PEM certificate chain: serve HTTPS (with --tls-key); cookies become "
                         "Secure and HSTS is sent");
  up_command->add_option("--tls-key", up.tls_key, "PEM private key for --tls-cert");
  up_command->add_option("--node-name", up.node_name, "this node's name (default: hostname)");
  up_command->add_option("--port-range", up.port_range, "host ports for session Jupyter/SSH")
      ->capture_default_str();
  up_command->add_option("--log-level", up.log_level, "debug, info, warn or error")
      ->capture_default_str();
  up_command->add_option("--http-threads", up.http_threads,
                         "gateway threads (default: one per core)");
  up_command->add_option("--node-label", up.node_labels,
                         "KEY=VALUE label of this node (repeatable)");
  up_command
      ->add_option("--session-subnets", up.session_network.subnets,
                   "IPv4 block each session's network (a /28) is taken from")
      ->capture_default_str();
  up_command
      ->add_option("--session-firewall", up.session_network.firewall,
                   "iptables: sessions reach neither each other nor this host nor "
                   "169.254.169.254; off: no such isolation (trusted users only)")
      ->capture_default_str();
  up_command->add_flag("!--no-session-internet", up.session_network.internet,
                       "air-gapped: sessions reach nothing outside their own container");
  up_command
      ->add_option("--audit-retention-days", up.audit_retention_days,
                   "how long the audit log keeps its entries (at least 30)")
      ->capture_default_str();
  up_command->add_option("--trusted-proxy", up.trusted_proxies,
                         "IPv4 block of a reverse proxy in front of the gateway whose "
                         "X-Forwarded-For names the client (repeatable); others' is ignored");
  up_command->add_option("--session-deny", up.session_network.denied,
                         "IPv4 block sessions must not reach, e.g. the site's management LAN "
                         "(repeatable)");
  up_command
      ->add_option("--node-lost-after", up.node_lost_after_s,
                   "seconds a node may stay silent before its sessions end as node_lost, billed "
                   "up to its last report (at least 60)")
      ->capture_default_str();
  up_command
      ->add_option("--preemption-grace-seconds", up.preemption_grace_s,
                   "how long a preemptible session keeps running once chosen to make room")
      ->capture_default_str();
  up_command
      ->add_option("--fair-share-half-life-hours", up.fair_share_half_life_hours,
                   "the queue's fair share forgets half of past GPU use this often")
      ->capture_default_str();
  up_command->add_option(
      "--node-cpus", up.node_cpus,
      "CPUs sessions may reserve on this node (default: its cores; more overcommits)");
  up_command->add_option("--node-memory-gb", up.node_memory_gb,
                         "memory sessions may reserve on this node (default: its RAM)");
  up_command->add_flag("--postpaid", up.postpaid,
                       "meter costs but do not require a prepaid balance to cover them");
  add_up_limits(*up_command, up);

  std::string url;
  std::string username;
  bool password_stdin = false;
  auto* login_command =
      app.add_subcommand("login", "log in to a gpupool server and save an API token");
  login_command->add_option("url", url, "server URL, e.g. http://gpu-head:8080")->required();
  login_command->add_option("-u,--username", username, "user name (asked if absent)");
  login_command->add_flag("--password-stdin", password_stdin,
                          "read the password from standard input");

  gpupool::cli::RunOptions run;
  bool no_wait = false;
  double cpus = 0;
  double memory_gb = 0;
  double max_hours = 0;
  auto* run_command = app.add_subcommand("run", "request a session with GPUs");
  run_command->add_option("--gpus", run.gpus, "number of whole GPUs")->capture_default_str();
  run_command->add_option("--image", run.image, "catalog image tag (default: the pool's default)");
  run_command->add_option("--gpu-model", run.gpu_model, "GPU model, e.g. A100-80GB");
  double gpu_memory_gb = 0;
  auto* share_option = run_command->add_option("--gpu-memory-gb", gpu_memory_gb,
                                               "a share of one GPU with this much memory");
  auto* cpus_option = run_command->add_option("--cpus", cpus, "CPU cores");
  auto* memory_option = run_command->add_option("--memory-gb", memory_gb, "memory in GB");
  auto* hours_option =
      run_command->add_option("--max-hours", max_hours, "end the session after this long");
  run_command->add_flag("--preemptible", run.preemptible,
                        "may be stopped (after a grace period) to make room for others");
  run_command->add_flag("--no-wait", no_wait, "return at once instead of waiting for running");

  bool everyone = false;
  auto* ls_command = app.add_subcommand("ls", "list my sessions");
  ls_command->add_flag("--all", everyone, "everyone's sessions (admins)");

  std::string session_id;
  auto* stop_command = app.add_subcommand("stop", "stop a session (the home volume is kept)");
  stop_command->add_option("id", session_id, "session id")->required();

  auto* open_command =
      app.add_subcommand("open", "open a running session's Jupyter (through the gateway's login)");
  open_command->add_option("id", session_id, "session id")->required();
  auto* ssh_command = app.add_subcommand(
      "ssh", "open an SSH shell in a running session: gpupool ssh ID [ssh options --] [command]");
  ssh_command->add_option("id", session_id, "session id")->required();
  ssh_command->prefix_command();  // everything after the id goes to ssh untouched

  auto* images_command = app.add_subcommand("images", "list the image catalog");
  auto* pool_command = app.add_subcommand("pool", "show free GPUs by model");
  auto* prices_command = app.add_subcommand("prices", "show the price of each GPU model");
  bool usage_everyone = false;
  auto* balance_command = app.add_subcommand("balance", "show your prepaid balance and its ledger");
  auto* usage_command = app.add_subcommand("usage", "show what your sessions ran and cost");
  usage_command->add_flag("--all", usage_everyone, "every user's sessions (admins)");

  auto* admin_command =
      app.add_subcommand("admin", "manage users, groups, quotas, nodes and prices (admins)");
  admin_command->require_subcommand(1);
  gpupool::app::AccountCli account(app, *admin_command);
  std::string name;
  bool make_admin = false;
  auto* user_add =
      admin_command->add_subcommand("user-add", "create a user; the password comes from stdin");
  user_add->add_option("name", name, "user name")->required();
  user_add->add_flag("--admin", make_admin, "make the user an admin");
  auto* group_add = admin_command->add_subcommand("group-add", "create a group");
  group_add->add_option("name", name, "group name")->required();
  std::vector<std::string> members;
  auto* group_members = admin_command->add_subcommand("group-members", "set a group's members");
  group_members->add_option("name", name, "group name")->required();
  group_members->add_option("users", members, "user names (none empties the group)");
  gpupool::cli::QuotaOptions quota;
  int quota_gpus = 0;
  int quota_sessions = 0;
  double quota_memory = 0;
  double quota_hours = 0;
  auto* quota_set = admin_command->add_subcommand(
      "quota-set", "set a user's or group's quota (unset limits are lifted)");
  quota_set->add_option("--user", quota.user, "user name");
  quota_set->add_option("--group", quota.group, "group name");
  auto* gpus_option = quota_set->add_option("--gpus", quota_gpus, "whole GPUs at once");
  auto* sessions_option = quota_set->add_option("--sessions", quota_sessions, "sessions at once");
  auto* memory_quota_option =
      quota_set->add_option("--gpu-memory-gb", quota_memory, "shared GPU memory at once");
  auto* hours_quota_option =
      quota_set->add_option("--session-hours", quota_hours, "longest session");
  quota_set->add_option("--model-gpus", quota.model_gpus,
                        "MODEL=N: at most N whole GPUs of that model (repeatable)");
  auto* quota_ls = admin_command->add_subcommand("quota-ls", "list quotas");
  auto* drain = admin_command->add_subcommand("drain", "stop placing new sessions on a node");
  drain->add_option("node", name, "node name")->required();
  auto* undrain =
      admin_command->add_subcommand("undrain", "let a drained node take sessions again");
  undrain->add_option("node", name, "node name")->required();
  std::string backup_file;
  std::string backup_data_dir = up.data_dir;
  auto* backup = admin_command->add_subcommand(
      "backup", "copy the database, consistently, while gpupool runs (on the server's machine)");
  backup->add_option("file", backup_file, "where the copy goes (a new file)")->required();
  backup->add_option("--data-dir", backup_data_dir, "gpupool's data dir")->capture_default_str();
  auto* unknown_ls = admin_command->add_subcommand(
      "unknown", "list containers nodes run for sessions the database does not know");
  std::string unknown_session;
  auto* unknown_rm = admin_command->add_subcommand(
      "unknown-rm", "remove a container of a session the database does not know");
  unknown_rm->add_option("node", name, "node name")->required();
  unknown_rm->add_option("session", unknown_session, "session id")->required();
  auto* unknown_adopt = admin_command->add_subcommand(
      "unknown-adopt",
      "make a container of a session the database does not know a session again (its user's)");
  unknown_adopt->add_option("node", name, "node name")->required();
  unknown_adopt->add_option("session", unknown_session, "session id")->required();
  double price = 0;
  auto* price_set = admin_command->add_subcommand(
      "price-set", "set a GPU model's price in credits per GPU-hour (0: free)");
  price_set->add_option("model", name, "GPU model, e.g. A100-80GB")->required();
  price_set->add_option("credits", price, "credits per GPU-hour")->required();
  std::string top_up_key;
  auto* top_up = admin_command->add_subcommand(
      "top-up", "add credits to a user's balance (negative: an adjustment)");
  top_up->add_option("user", name, "user name")->required();
  top_up->add_option("credits", price, "credits to add")->required()->allow_extra_args(false);
  top_up->add_option("--key", top_up_key,
                     "idempotency key: running the command again with it adds nothing more");

  gpupool::app::GpusOptions gpus;
  auto* gpus_command =
      app.add_subcommand("gpus", "show this machine's GPUs and a reading of each (NVML)");
  gpus_command->add_option("--simulate", gpus.simulate,
                           "a simulated set instead, e.g. 4xA100-80GB");
  gpus_command->add_option("--nvml", gpus.nvml, "the NVML library to load")->capture_default_str();
  gpus_command->add_flag("--json", gpus.json, "print JSON");

  gpupool::app::SimOptions sim;
  auto* sim_command = app.add_subcommand("sim", "replay a cluster trace through the scheduler");
  sim_command->require_subcommand(1);
  auto* fragmentation = sim_command->add_subcommand(
      "fragmentation", "ATC '23 fragmentation experiment on the Alibaba GPU-sharing trace");
  fragmentation->add_option("--trace-dir", sim.trace_dir, "folder with jobs.csv and nodes.csv")
      ->capture_default_str();
  fragmentation->add_option("--seeds", sim.seeds, "seeds to average over")->capture_default_str();
  fragmentation->add_option("--policies", sim.policies, "comma-separated")->capture_default_str();

  auto* replay = sim_command->add_subcommand(
      "replay", "time-ordered replay on a scaled-down cluster: gpupool's queue vs FIFO first-fit");
  replay->add_option("--trace-dir", sim.trace_dir, "folder with jobs.csv and nodes.csv")
      ->capture_default_str();
  replay->add_option("--nodes", sim.replay_nodes, "nodes sampled from the trace's list")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  if (*gpus_command) return gpupool::app::run_gpus(gpus);
  if (*fragmentation) return gpupool::app::run_sim_fragmentation(sim);
  if (*replay) return gpupool::app::run_sim_replay(sim);

  if (auto code = account.run()) return *code;
  if (*admin_command) {
    if (*user_add) return gpupool::cli::add_user(name, make_admin);
    if (*backup) return gpupool::app::run_backup(backup_data_dir, backup_file);
    if (*group_add) return gpupool::cli::create_group(name);
    if (*group_members) return gpupool::cli::set_group_members(name, members);
    if (*quota_ls) return gpupool::cli::list_quotas();
    if (*drain || *undrain) return gpupool::cli::set_drained(name, static_cast<bool>(*drain));
    if (*unknown_ls) return gpupool::cli::list_unknown_containers();
    if (*unknown_rm) return gpupool::cli::remove_unknown_container(name, unknown_session);
    if (*unknown_adopt) return gpupool::cli::adopt_unknown_container(name, unknown_session);
    if (*price_set) return gpupool::cli::set_price(name, price);
    if (*top_up) return gpupool::cli::top_up(name, price, top_up_key);
    if (*gpus_option) quota.gpus = quota_gpus;
    if (*sessions_option) quota.sessions = quota_sessions;
    if (*memory_quota_option) quota.gpu_memory_gb = quota_memory;
    if (*hours_quota_option) quota.session_hours = quota_hours;
    return gpupool::cli::set_quota(quota);
  }

  if (*up_command) return gpupool::app::run_up(up);
  if (*login_command) return gpupool::cli::login(url, username, password_stdin);
  if (*run_command) {
    if (*share_option) run.gpu_memory_gb = gpu_memory_gb;
    if (*cpus_option) run.cpus = cpus;
    if (*memory_option) run.memory_gb = memory_gb;
    if (*hours_option) run.max_hours = max_hours;
    run.wait = !no_wait;
    return gpupool::cli::run(run);
  }
  if (*ls_command) return gpupool::cli::list(everyone);
  if (*stop_command) return gpupool::cli::stop(session_id);
  if (*ssh_command) return gpupool::cli::ssh(session_id, ssh_command->remaining());
  if (*open_command) return gpupool::cli::open(session_id);
  if (*images_command) return gpupool::cli::images();
  if (*pool_command) return gpupool::cli::pool();
  if (*prices_command) return gpupool::cli::prices();
  if (*usage_command) return gpupool::cli::usage(usage_everyone);
  if (*balance_command) return gpupool::cli::balance();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& failure) {  // a bug, not a user error: those are Results
    std::fprintf(stderr, "gpupool: %s\n", failure.what());
    return 70;  // EX_SOFTWARE
  }
}
