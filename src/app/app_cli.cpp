#include "app/app_cli.hpp"

namespace gpupool::app {

AppCli::AppCli(CLI::App& app) {
  expose_ = app.add_subcommand(
      "expose",
      "serve a web app of a session (TensorBoard, Gradio…) through the gateway; without a "
      "port, list what it serves");
  expose_->add_option("id", options_.session_id, "session id")->required();
  port_option_ = expose_->add_option("port", options_.port, "the app's port in the session")
                     ->check(CLI::Range(1, 65535));
  expose_->add_option("--share", options_.users, "a user who may open it too (repeatable)");
  expose_->add_option("--share-group", options_.groups,
                      "a group whose members may open it (repeatable)");
  expose_
      ->add_option("--link", options_.link_hours,
                   "also make a link anyone may open for this many hours")
      ->check(CLI::Range(1, 24 * 30));
  expose_->add_flag("--keep-path", options_.keep_path,
                    "send paths whole (/s/ID/apps/PORT/…), for apps told their prefix");

  unexpose_ = app.add_subcommand("unexpose", "stop serving a session's web app");
  unexpose_->add_option("id", options_.session_id, "session id")->required();
  unexpose_->add_option("port", options_.port, "the app's port")->required();
}

std::optional<int> AppCli::run() const {
  if (*expose_) {
    if (port_option_->count() == 0) return cli::list_apps(options_.session_id);
    return cli::expose(options_);
  }
  if (*unexpose_) return cli::unexpose(options_.session_id, options_.port);
  return std::nullopt;
}

}  // namespace gpupool::app
