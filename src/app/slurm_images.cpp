#include "app/slurm_images.hpp"

#include <sys/stat.h>
#include <sys/xattr.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "catalog/image_reference.hpp"
#include "core/command.hpp"
#include "core/log.hpp"
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

bool insecure(const std::string& reference, const std::vector<std::string>& registries) {
  auto parsed = catalog::parse_image_reference(reference);
  if (!parsed || !parsed->names_registry) return false;
  return std::find(registries.begin(), registries.end(), parsed->registry) != registries.end();
}

bool has_root_filesystem(const std::string& images_dir, const std::string& tag) {
  std::error_code error;
  return fs::is_directory(services::image_directory(images_dir, tag) + "/usr", error);
}

// The image's set-user-ID and set-group-ID bits and file capabilities dropped: they are of no
// use in the sandbox (its root is unmapped, and nothing gains privileges there), but the tree
// lies on a filesystem the nodes' users can run programs from, where an old setuid `sudo` of an
// image would run as the node's root.
Status drop_privileged_files(const fs::path& rootfs) {
  std::error_code error;
  for (fs::recursive_directory_iterator it(rootfs, error), end; !error && it != end;
       it.increment(error)) {
    struct stat info {};
    if (::lstat(it->path().c_str(), &info) != 0 || !S_ISREG(info.st_mode)) continue;
    if ((info.st_mode & (S_ISUID | S_ISGID)) != 0 &&
        ::chmod(it->path().c_str(), info.st_mode & 07777 & ~(S_ISUID | S_ISGID)) != 0)
      return make_error(ErrorCode::unavailable,
                        fmt::format("{}: cannot drop its setuid bit", it->path().string()));
    ::lremovexattr(it->path().c_str(), "security.capability");
  }
  if (error)
    return make_error(ErrorCode::unavailable,
                      fmt::format("{}: {}", rootfs.string(), error.message()));
  return {};
}

}  // namespace

std::string skopeo_source(const std::string& reference) {
  auto parsed = catalog::parse_image_reference(reference);
  if (parsed && parsed->names_registry) return "docker://" + reference;
  return "docker-daemon:" + reference;
}

Status unpack_slurm_image(const std::string& tag, const std::string& reference,
                          const ImageUnpacking& settings) {
  const std::string& images_dir = settings.images_dir;
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
  if (!settings.registry_auth.empty()) copy.push_back("--src-authfile=" + settings.registry_auth);
  if (insecure(reference, settings.insecure_registries)) copy.push_back("--src-tls-verify=false");
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
  if (Status dropped = drop_privileged_files(rootfs); !dropped) {
    cleanup();
    return dropped;
  }
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

std::unique_ptr<PeriodicTask> make_image_unpacker(Store& store, ImageUnpacking settings) {
  // The last failure logged for each tag: the same one is not logged every round.
  auto told = std::make_shared<std::map<std::string, std::string>>();
  return std::make_unique<PeriodicTask>(
      std::chrono::minutes(10), [&store, settings = std::move(settings), told] {
        if (!store.leads()) return;  // one server unpacks
        auto images = store.list_images();
        if (!images) return;
        for (const auto& image : *images) {
          if (has_root_filesystem(settings.images_dir, image.tag)) continue;
          spdlog::info("unpacking {} ({}) for Slurm jobs into {}", image.tag, image.reference,
                       settings.images_dir);
          auto unpacked = unpack_slurm_image(image.tag, image.reference, settings);
          if (unpacked) {
            spdlog::info("{} is ready for Slurm jobs", image.tag);
            told->erase(image.tag);
          } else if ((*told)[image.tag] != unpacked.error().message) {
            (*told)[image.tag] = unpacked.error().message;
            spdlog::warn(
                "cannot unpack {} for Slurm jobs (its sessions fail until it is; `gpupool "
                "slurm-image {}={} --slurm-images {}` does it by hand): {}",
                image.tag, image.tag, image.reference, settings.images_dir,
                unpacked.error().message);
          }
        }
      });
}

}  // namespace gpupool::app
