// gpupool: one binary for the server, the agent, `up` (both on one machine) and the CLI.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "app/account_cli.hpp"
#include "app/agent_command.hpp"
#include "app/app_cli.hpp"
#include "app/backup_command.hpp"
#include "app/completion.hpp"
#include "app/config_file.hpp"
#include "app/gpus_command.hpp"
#include "app/idle_cli.hpp"
#include "app/image_cli.hpp"
#include "app/migrate_store_command.hpp"
#include "app/node_cli.hpp"
#include "app/notify_cli.hpp"
#include "app/serve_options.hpp"
#include "app/sim_command.hpp"
#include "app/slurm_image_cli.hpp"
#include "app/ssh_cli.hpp"
#include "app/up_command.hpp"
#include "cli/admin_commands.hpp"
#include "cli/browser_login.hpp"
#include "cli/commands.hpp"
#include "cli/usage_commands.hpp"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"gpupool: self-hosted GPU sharing — Jupyter and SSH sessions on pooled GPUs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "gpupool 0.1.0");

  gpupool::app::UpOptions up;
  auto* up_command = app.add_subcommand("up", "run server and local agent on this machine");
  gpupool::app::add_server_options(*up_command, up);
  gpupool::app::add_node_options(*up_command, up.node);
  gpupool::app::UpOptions server;
  auto* server_command = app.add_subcommand(
      "server",
      "run the server only: gateway, API, scheduler and store; GPU servers join it "
      "with `gpupool agent`");
  gpupool::app::add_server_options(*server_command, server);
  server_command->add_option("--image", server.images,
                             "catalog image TAG=REFERENCE nodes run (repeatable; default: the "
                             "offline Debian image); a registry reference is pinned to the "
                             "digest its tag names at start");
  // Both roles: admins add catalog images from registries (POST /api/v1/images).
  for (auto [command, options] : {std::pair{up_command, &up}, std::pair{server_command, &server}}) {
    command->add_option("--registry-auth", options->registry_auth,
                        "registry logins, in the format of Docker's config.json (chmod 600); "
                        "a node gets the one for a session's image with it");
    command->add_option("--insecure-registry", options->insecure_registries,
                        "HOST:PORT of a registry spoken to over plain HTTP (repeatable; its "
                        "nodes' engines need the same option)");
    command->add_option("--saved-images-registry", options->saved_images_registry,
                        "HOST:PORT[/PATH] where users' saved sessions go, each user's under "
                        "PATH/USER/ (nodes push there with the --registry-auth login); "
                        "without it sessions cannot be saved as images");
    command
        ->add_option("--saved-images-per-user", options->saved_images_per_user,
                     "images a user may have saved (or being saved) at once")
        ->check(CLI::Range(1, 1000));
    command
        ->add_option("--saved-image-max-gb", options->saved_image_max_gb,
                     "the most a saved image may add to the image its session ran, in GB")
        ->check(CLI::Range(0.1, 10000.0));
  }
  server_command->add_option("--ssh-gateway-ports", server.ssh_gateway_ports,
                             "LOW-HIGH: each running session gets a port of this range on the "
                             "gateway host, relayed to its SSH on its node (for GPU servers on "
                             "a private network); without it users SSH to nodes directly");
  gpupool::app::add_slurm_options(*server_command, server.slurm);
  server_command->add_option("--prepull", server.prepull,
                             "catalog TAG every node pulls as soon as it joins, so that the "
                             "first session there starts at once (repeatable)");
  gpupool::app::AgentOptions agent;
  auto* agent_command =
      app.add_subcommand("agent", "run a GPU server's agent, joined to a `gpupool server`");
  gpupool::app::add_agent_options(*agent_command, agent);

  std::string url;
  std::string username;
  bool password_stdin = false;
  auto* login_command =
      app.add_subcommand("login", "log in to a gpupool server and save an API token");
  login_command->add_option("url", url, "server URL, e.g. http://gpu-head:8080")->required();
  login_command->add_option("-u,--username", username, "user name (asked if absent)");
  login_command->add_flag("--password-stdin", password_stdin,
                          "read the password from standard input");
  bool browser_login = false;
  login_command->add_flag("--browser", browser_login,
                          "sign in through the organisation's identity provider, in a browser");

  gpupool::cli::RunOptions run;
  bool no_wait = false;
  double cpus = 0;
  double memory_gb = 0;
  double max_hours = 0;
  auto* run_command = app.add_subcommand("run", "request a session with GPUs");
  run_command
      ->add_option("--gpus", run.gpus,
                   "number of whole GPUs (0: none, to set up an environment at the CPU price)")
      ->capture_default_str();
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
  bool quiet = false;
  ls_command->add_flag("-q,--quiet", quiet, "only the ids of sessions not ended");

  std::string session_id;
  auto* stop_command = app.add_subcommand("stop", "stop a session (the home volume is kept)");
  stop_command->add_option("id", session_id, "session id")->required();

  auto* logs_command = app.add_subcommand(
      "logs", "show a session's changes of state, and what its container printed if it failed");
  logs_command->add_option("id", session_id, "session id")->required();
  auto* open_command =
      app.add_subcommand("open", "open a running session's Jupyter (through the gateway's login)");
  open_command->add_option("id", session_id, "session id")->required();
  bool open_vscode = false;
  open_command->add_flag("--vscode", open_vscode,
                         "VS Code in the browser instead, where the image has code-server");
  gpupool::app::SshCli ssh(app);
  gpupool::app::AppCli apps(app);

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
  gpupool::app::NodeCli nodes(*admin_command);
  gpupool::app::IdleCli idle(app, *admin_command);
  gpupool::app::NotifyCli notify(app);
  gpupool::app::ImageCli images(app, *admin_command);
  gpupool::app::SlurmImageCli slurm_images(app);
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
  std::string migrate_from = "sqlite:" + up.data_dir + "/gpupool.db";
  std::string migrate_to;
  auto* migrate_store = admin_command->add_subcommand(
      "migrate-store", "move the database to PostgreSQL (an empty one), checked table by table");
  migrate_store->add_option("--from", migrate_from, "sqlite:PATH")->capture_default_str();
  migrate_store->add_option("--to", migrate_to, "postgres://USER@HOST:PORT/DB")->required();
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

  std::string shell;
  auto* completion_command = app.add_subcommand(
      "completion", "print a shell completion script: eval \"$(gpupool completion bash)\"");
  completion_command->add_option("shell", shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));

  argc = ssh.cut_remote_command(argc, argv);
  auto arguments = gpupool::app::command_line_with_config(
      argc, argv, {{up_command, &up.auth}, {server_command, &server.auth}});
  if (!arguments) {
    std::fprintf(stderr, "gpupool: %s\n", arguments.error().message.c_str());
    return 2;
  }
  try {
    app.parse(*arguments);
  } catch (const CLI::ParseError& failure) {
    return app.exit(failure);
  }

  if (*completion_command) {
    std::fputs(
        (shell == "zsh" ? gpupool::app::zsh_completion(app) : gpupool::app::bash_completion(app))
            .c_str(),
        stdout);
    return 0;
  }

  if (*gpus_command) return gpupool::app::run_gpus(gpus);
  if (*fragmentation) return gpupool::app::run_sim_fragmentation(sim);
  if (*replay) return gpupool::app::run_sim_replay(sim);

  if (auto code = account.run()) return *code;
  if (auto code = nodes.run()) return *code;
  if (auto code = idle.run()) return *code;
  if (auto code = notify.run()) return *code;
  if (auto code = ssh.run()) return *code;
  if (auto code = apps.run()) return *code;
  if (auto code = images.run()) return *code;
  if (auto code = slurm_images.run()) return *code;
  if (*admin_command) {
    if (*user_add) return gpupool::cli::add_user(name, make_admin);
    if (*backup) return gpupool::app::run_backup(backup_data_dir, backup_file);
    if (*migrate_store) return gpupool::app::run_migrate_store(migrate_from, migrate_to);
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
  if (*server_command) return gpupool::app::run_server(server);
  if (*agent_command) return gpupool::app::run_agent(agent);
  if (*login_command && browser_login) return gpupool::cli::browser_login(url);
  if (*login_command) return gpupool::cli::login(url, username, password_stdin);
  if (*run_command) {
    if (*share_option) run.gpu_memory_gb = gpu_memory_gb;
    if (*cpus_option) run.cpus = cpus;
    if (*memory_option) run.memory_gb = memory_gb;
    if (*hours_option) run.max_hours = max_hours;
    run.wait = !no_wait;
    return gpupool::cli::run(run);
  }
  if (*ls_command) return gpupool::cli::list(everyone, quiet);
  if (*stop_command) return gpupool::cli::stop(session_id);
  if (*logs_command) return gpupool::cli::logs(session_id);
  if (*open_command) return gpupool::cli::open(session_id, open_vscode);
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
