#include "app/idle_cli.hpp"

namespace gpupool::app {

IdleCli::IdleCli(CLI::App& app, CLI::App& admin) {
  keep_ = app.add_subcommand(
      "keep", "keep a running session that idle reclaim warned about (its idle window restarts)");
  keep_->add_option("id", session_id_, "session id")->required();

  auto* policy = admin.add_subcommand(
      "idle-policy", "how long users' and groups' sessions may sit unused before reclaim");
  policy->require_subcommand(1);
  set_ = policy->add_subcommand("set", "set a user's or group's idle policy (unset: the default)");
  remove_ = policy->add_subcommand("rm", "remove a user's or group's idle policy");
  for (auto* command : {set_, remove_}) {
    command->add_option("--user", policy_.user, "user name");
    command->add_option("--group", policy_.group, "group name");
  }
  set_->add_option("--window", policy_.window, "unused this long is warned, e.g. 4h; 0: never");
  set_->add_option("--grace", policy_.grace, "warned this long is reclaimed, e.g. 30m");
  keeps_option_ = set_->add_option("--keeps", keeps_, "times an owner may keep a session");
  exempt_option_ = set_->add_flag("--exempt,!--no-exempt", exempt_flag_,
                                  "never reclaim their sessions (or, with --no-exempt, do)");
  list_ = policy->add_subcommand("ls", "list idle policies");

  exempt_ = admin.add_subcommand("idle-exempt", "exempt one session from idle reclaim");
  exempt_->add_option("id", session_id_, "session id")->required();
  exempt_->add_flag("--off", off_, "lift the exemption");
}

std::optional<int> IdleCli::run() const {
  if (*keep_) return cli::keep(session_id_);
  if (*list_) return cli::list_idle_policies();
  if (*remove_) return cli::remove_idle_policy(policy_);
  if (*exempt_) return cli::set_idle_exempt(session_id_, !off_);
  if (*set_) {
    cli::IdlePolicyOptions options = policy_;
    if (*keeps_option_) options.keeps = keeps_;
    if (*exempt_option_) options.exempt = exempt_flag_;
    return cli::set_idle_policy(options);
  }
  return std::nullopt;
}

}  // namespace gpupool::app
