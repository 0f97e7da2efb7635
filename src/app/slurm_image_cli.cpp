#include "app/slurm_image_cli.hpp"

#include <iostream>

#include <fmt/format.h>

#include "app/process.hpp"
#include "app/slurm_images.hpp"
#include "catalog/image_tag.hpp"
#include "services/slurm_backend.hpp"

namespace gpupool::app {

SlurmImageCli::SlurmImageCli(CLI::App& app) {
  command_ = app.add_subcommand(
      "slurm-image",
      "unpack a catalog image for Slurm jobs to run sessions from (skopeo and umoci; as root)");
  command_->add_option("image", image_, "TAG=REFERENCE, as --image of `gpupool server`")
      ->required();
  command_->add_option("--slurm-images", images_dir_, "where root filesystems go (DIR/TAG)")
      ->capture_default_str();
  command_->add_option("--registry-auth", registry_auth_, "registry logins (Docker's config.json)");
  command_->add_option("--insecure-registry", insecure_registries_,
                       "HOST:PORT spoken to over plain HTTP (repeatable)");
}

std::optional<int> SlurmImageCli::run() const {
  if (!command_->parsed()) return std::nullopt;
  auto equals = image_.find('=');
  if (equals == std::string::npos) return fail("give the image as TAG=REFERENCE");
  std::string tag = image_.substr(0, equals);
  std::string reference = image_.substr(equals + 1);
  if (auto parsed = catalog::parse_image_tag(tag); !parsed)
    return fail(fmt::format("{}: {}", tag, parsed.error().message));
  if (!images_dir_.starts_with('/')) return fail("--slurm-images must be an absolute path");
  if (auto done =
          unpack_slurm_image(tag, reference, {images_dir_, registry_auth_, insecure_registries_});
      !done)
    return fail(done.error().message);
  std::cout << fmt::format("{} is at {}", tag, services::image_directory(images_dir_, tag))
            << std::endl;
  return 0;
}

}  // namespace gpupool::app
