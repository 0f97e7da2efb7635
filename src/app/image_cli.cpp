#include "app/image_cli.hpp"

#include "cli/image_commands.hpp"
#include "cli/my_image_commands.hpp"

namespace gpupool::app {

ImageCli::ImageCli(CLI::App& app, CLI::App& admin) {
  list_ = app.add_subcommand("images", "list the image catalog: state, check, where each runs");
  save_ = app.add_subcommand(
      "save-image", "save a running session as your image (not your home, which stays yours)");
  save_->add_option("session", session_id_, "the session's id")->required();
  save_->add_option("name", name_, "its name, e.g. torch-env: the image is <you>/<name>")
      ->required();
  save_->add_flag("--wait", wait_, "wait until it is saved and checked");
  mine_ = app.add_subcommand("my-images", "list your saved images");
  mine_remove_ = mine_->add_subcommand("rm", "remove one of your saved images");
  mine_remove_->add_option("name", name_, "its name (without your user name)")->required();
  add_ = admin.add_subcommand(
      "image-add",
      "add an image by registry reference: pinned to its digest, checked on a node, in testing");
  add_->add_option("reference", reference_,
                   "e.g. gpus.lab:5000/team/pytorch:pytorch2.7-cuda11.8-cudnn8-runtime")
      ->required();
  add_->add_option("--tag", tag_, "its semantic tag, when the reference's own is not one");
  add_->add_flag("--prepull", prepull_, "nodes pull it ahead of need, and keep it");
  set_ = admin.add_subcommand("image-set", "roll an image out, back or away; pre-pull; default");
  set_->add_option("tag", tag_, "the image's tag")->required();
  state_option_ =
      set_->add_option("--state", state_, "testing, canary, stable, deprecated or retired")
          ->check(CLI::IsMember({"testing", "canary", "stable", "deprecated", "retired"}));
  prepull_option_ = set_->add_option("--prepull", prepull_, "true or false");
  set_->add_flag("--default", make_default_, "make it the default image (stable only)");
  check_ = admin.add_subcommand("image-check", "check an image's contract again");
  check_->add_option("tag", tag_, "the image's tag")->required();

  rollout_list_ = admin.add_subcommand("rollout-ls", "list image families and their roll-outs");
  rollout_set_ = admin.add_subcommand(
      "rollout-set", "set a family's stable image and roll a canary out to a share or groups");
  rollout_set_->add_option("family", family_, "e.g. pytorch2.7-cuda11.8 or pytorch-latest")
      ->required();
  stable_option_ =
      rollout_set_->add_option("--stable", stable_, "the family's stable image (a tag)");
  canary_option_ =
      rollout_set_->add_option("--canary", canary_, "the image rolled out (\"\": none)");
  percent_option_ = rollout_set_->add_option("--percent", percent_, "share of new sessions it gets")
                        ->check(CLI::Range(0, 100));
  groups_option_ =
      rollout_set_->add_option("--groups", groups_, "groups whose sessions all get it");
  promote_option_ =
      rollout_set_->add_option("--promote-after", promote_after_,
                               "good starts after which it becomes stable (0: by an admin)");
  failures_option_ =
      rollout_set_->add_option("--halt-failures", halt_failures_,
                               "failed starts that halt it (when above the stable image's share)");
  slowdown_option_ = rollout_set_->add_option(
      "--halt-slowdown", halt_slowdown_,
      "halt when its median time to running is this many times the stable image's");
  rollout_promote_ =
      admin.add_subcommand("rollout-promote", "make a family's canary its stable image");
  rollout_promote_->add_option("family", family_, "the family")->required();
  rollout_halt_ =
      admin.add_subcommand("rollout-halt", "send a family's new sessions to its stable image");
  rollout_halt_->add_option("family", family_, "the family")->required();
}

std::optional<int> ImageCli::run() const {
  if (*list_) return cli::images();
  if (*save_) return cli::save_image(session_id_, name_, wait_);
  if (*mine_remove_) return cli::remove_my_image(name_);
  if (*mine_) return cli::my_images();
  if (*add_) return cli::add_image(reference_, tag_, prepull_);
  if (*check_) return cli::check_image(tag_);
  if (*rollout_list_) return cli::list_rollouts();
  if (*rollout_promote_) return cli::act_on_rollout(family_, "promote");
  if (*rollout_halt_) return cli::act_on_rollout(family_, "halt");
  if (*rollout_set_) {
    cli::RolloutOptions options;
    if (*stable_option_) options.stable = stable_;
    if (*canary_option_) options.canary = canary_;
    if (*percent_option_) options.percent = percent_;
    if (*groups_option_) options.groups = groups_;
    if (*promote_option_) options.promote_after = promote_after_;
    if (*failures_option_) options.halt_failures = halt_failures_;
    if (*slowdown_option_) options.halt_slowdown = halt_slowdown_;
    return cli::set_rollout(family_, options);
  }
  if (*set_) {
    cli::ImageSetOptions options;
    if (*state_option_) options.state = state_;
    if (*prepull_option_) options.prepull = prepull_;
    options.make_default = make_default_;
    return cli::set_image(tag_, options);
  }
  return std::nullopt;
}

}  // namespace gpupool::app
