#include "app/image_cli.hpp"

#include "cli/image_commands.hpp"

namespace gpupool::app {

ImageCli::ImageCli(CLI::App& app, CLI::App& admin) {
  list_ = app.add_subcommand("images", "list the image catalog: state, check, where each runs");
  add_ = admin.add_subcommand(
      "image-add",
      "add an image by registry reference: pinned to its digest, checked on a node, in testing");
  add_->add_option("reference", reference_, "e.g. gpus.lab:5000/team/pytorch:pytorch2.7-cuda11.8-cudnn8-runtime")
      ->required();
  add_->add_option("--tag", tag_, "its semantic tag, when the reference's own is not one");
  add_->add_flag("--prepull", prepull_, "nodes pull it ahead of need, and keep it");
  set_ = admin.add_subcommand("image-set", "roll an image out, back or away; pre-pull; default");
  set_->add_option("tag", tag_, "the image's tag")->required();
  state_option_ = set_->add_option("--state", state_, "testing, canary, stable, deprecated or retired")
                      ->check(CLI::IsMember({"testing", "canary", "stable", "deprecated", "retired"}));
  prepull_option_ = set_->add_option("--prepull", prepull_, "true or false");
  set_->add_flag("--default", make_default_, "make it the default image (stable only)");
  check_ = admin.add_subcommand("image-check", "check an image's contract again");
  check_->add_option("tag", tag_, "the image's tag")->required();
}

std::optional<int> ImageCli::run() const {
  if (*list_) return cli::images();
  if (*add_) return cli::add_image(reference_, tag_, prepull_);
  if (*check_) return cli::check_image(tag_);
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
