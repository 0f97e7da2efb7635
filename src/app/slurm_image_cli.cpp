#include "app/slurm_image_cli.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "app/process.hpp"
#include "catalog/image_reference.hpp"
#include "catalog/image_tag.hpp"
#include "core/command.hpp"
#include "core/random.hpp"
#include "services/slurm_backend.hpp"

namespace gpupool::app {

namespace {

namespace fs = std::filesystem;

Status run_tool(const std::vector<std::string>& argv) {
  auto result = run_command(argv);
  if (!result) return result.error();
  if (result->exit_code != 0)
    return make_error(ErrorCode::unavailable,
                      fmt::format("{} failed: {}", argv.front(), result->output));
  return {};
}

// Unpacks into a scratch directory beside the target, then swaps it in: jobs starting
// meanwhile see the old tree or the new one, never half of one.
Status unpack(const std::string& tag, const std::string& reference, const std::string& images_dir,
              const std::string& registry_auth, bool insecure) {
  fs::path target = services::image_directory(images_dir, tag);
  fs::path scratch = fs::path(images_dir) / fmt::format(".unpack-{}", random_hex(6));
  std::error_code error;
  fs::create_directories(scratch, error);
  if (error)
    return make_error(ErrorCode::unavailable,
                      fmt::format("{}: {}", scratch.string(), error.message()));
  ::chmod(images_dir.c_str(), 0755);
  auto cleanup = [&] { fs::remove_all(scratch, error); };
  std::vector<std::string> copy = {"skopeo", "copy", "--quiet"};
  if (!registry_auth.empty()) copy.push_back("--src-authfile=" + registry_auth);
  if (insecure) copy.push_back("--src-tls-verify=false");
  copy.push_back(skopeo_source(reference));
  copy.push_back("oci:" + (scratch / "oci").string() + ":image");
  Status copied = run_tool(copy);
  if (copied)
    copied = run_tool({"umoci", "unpack", "--image", (scratch / "oci").string() + ":image",
                       (scratch / "bundle").string()});
  if (!copied) {
    cleanup();
    return copied;
  }
  fs::path rootfs = scratch / "bundle" / "rootfs";
  ::chmod(rootfs.c_str(), 0755);
  fs::path old = scratch / "old";
  if (fs::exists(target)) fs::rename(target, old, error);
  if (!error) fs::rename(rootfs, target, error);
  cleanup();
  if (error)
    return make_error(ErrorCode::unavailable,
                      fmt::format("{}: {}", target.string(), error.message()));
  return {};
}

}  // namespace

std::string skopeo_source(const std::string& reference) {
  auto parsed = catalog::parse_image_reference(reference);
  if (parsed && parsed->names_registry) return "docker://" + reference;
  return "docker-daemon:" + reference;
}

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
  bool insecure = false;
  if (auto parsed = catalog::parse_image_reference(reference); parsed && parsed->names_registry)
    for (const auto& registry : insecure_registries_)
      insecure = insecure || parsed->registry == registry;
  if (auto done = unpack(tag, reference, images_dir_, registry_auth_, insecure); !done)
    return fail(done.error().message);
  std::cout << fmt::format("{} is at {}", tag, services::image_directory(images_dir_, tag))
            << std::endl;
  return 0;
}

}  // namespace gpupool::app
