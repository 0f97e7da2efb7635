#include "app/catalog_images.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "catalog/image_tag.hpp"
#include "core/log.hpp"

namespace gpupool::app {

namespace {

constexpr const char* kDefaultImageTag = "pytorch1.13-cpu-debian12-runtime";
constexpr const char* kDefaultImageReference = "gpupool/session:pytorch1.13-cpu-debian12-runtime";
constexpr const char* kImageTagLabel = "io.gpupool.image.tag";

// A registry reference pinned to the digest its tag names now. One the registry cannot be
// asked about (down, or too slow) is kept by tag, with a warning: a registry outage must not
// keep the server from starting. A reference naming no registry is a local image: kept.
Result<std::string> pinned(const std::string& text, const catalog::RegistryAccess& registries) {
  auto reference = catalog::parse_image_reference(text);
  if (!reference)
    return make_error(ErrorCode::invalid_argument, "--image: " + reference.error().message);
  if (!reference->names_registry || !reference->digest.empty()) return text;
  auto digest = catalog::resolve_digest(*reference, registries);
  if (!digest && digest.error().code == ErrorCode::not_found)
    return make_error(ErrorCode::invalid_argument, "--image: " + digest.error().message);
  if (!digest) {
    spdlog::warn("catalog: {} is not pinned to a digest, nodes pull its tag: {}", text,
                 digest.error().message);
    return text;
  }
  return reference->with_digest(*digest);
}

}  // namespace

Result<catalog::RegistryAccess> registry_access(const UpOptions& options) {
  catalog::RegistryAccess access;
  for (const auto& registry : options.insecure_registries) access.insecure.insert(registry);
  if (options.registry_auth.empty()) return access;
  struct stat info {};
  if (stat(options.registry_auth.c_str(), &info) != 0)
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("--registry-auth {}: no such file", options.registry_auth));
  if ((info.st_mode & 077) != 0)
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("--registry-auth {}: holds passwords, so it must be readable by "
                                  "its owner only (chmod 600)",
                                  options.registry_auth));
  std::ifstream in(options.registry_auth);
  std::stringstream text;
  text << in.rdbuf();
  auto logins = catalog::parse_registry_logins(text.str());
  if (!logins)
    return make_error(
        ErrorCode::invalid_argument,
        fmt::format("--registry-auth {}: {}", options.registry_auth, logins.error().message));
  access.logins = std::move(*logins);
  return access;
}

// The catalog: every engine image labelled io.gpupool.image.tag with a valid semantic tag
// (images/*/ recipes set it); the offline Debian image is the default.
Status register_catalog_images(Store& store, ContainerEngine& engine) {
  auto images = engine.list_images(kImageTagLabel);
  if (!images) return images.error();
  bool default_present = false;
  for (const auto& image : *images) {
    const std::string& tag_text = image.labels.at(kImageTagLabel);
    auto tag = catalog::parse_image_tag(tag_text);
    if (!tag) {
      spdlog::warn("image {} skipped: {}", image.reference, tag.error().message);
      continue;
    }
    bool is_default = tag_text == kDefaultImageTag;
    default_present = default_present || is_default;
    GPUPOOL_TRY(
        store.upsert_image({tag_text, image.reference, tag->framework, tag->framework_version,
                            tag->cuda, tag->cudnn, tag->flavor, is_default, "available"}));
    spdlog::info("catalog: {} ({})", tag_text, image.reference);
  }
  if (!default_present) {
    spdlog::warn(
        "default image {} is not in the engine; build it with images/debian-jupyter/build.sh",
        kDefaultImageReference);
    auto tag = catalog::parse_image_tag(kDefaultImageTag);
    GPUPOOL_TRY(store.upsert_image({kDefaultImageTag, kDefaultImageReference, tag->framework,
                                    tag->framework_version, tag->cuda, tag->cudnn, tag->flavor,
                                    true, "missing"}));
  }
  return {};
}

// `gpupool server`'s catalog, from --image TAG=REFERENCE (the default image when none):
// there is no local engine to read labels from; nodes hold the images or pull them.
Status register_configured_images(Store& store, const std::vector<std::string>& images,
                                  const catalog::RegistryAccess& registries) {
  std::vector<std::string> entries = images;
  if (entries.empty())
    entries.push_back(fmt::format("{}={}", kDefaultImageTag, kDefaultImageReference));
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto equals = entries[i].find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == entries[i].size()) {
      return make_error(ErrorCode::invalid_argument,
                        fmt::format("--image \"{}\": expected TAG=REFERENCE", entries[i]));
    }
    std::string tag_text = entries[i].substr(0, equals);
    auto tag = catalog::parse_image_tag(tag_text);
    if (!tag) return make_error(ErrorCode::invalid_argument, "--image: " + tag.error().message);
    auto reference = pinned(entries[i].substr(equals + 1), registries);
    if (!reference) return reference.error();
    GPUPOOL_TRY(store.upsert_image({tag_text, *reference, tag->framework, tag->framework_version,
                                    tag->cuda, tag->cudnn, tag->flavor, i == 0, "available"}));
    spdlog::info("catalog: {} ({})", tag_text, *reference);
  }
  return {};
}

Result<std::vector<ImageToPull>> images_to_prepull(Store& store,
                                                   const std::vector<std::string>& tags,
                                                   const catalog::RegistryLogins& logins) {
  auto images = store.list_images();
  if (!images) return images.error();
  std::vector<ImageToPull> pulls;
  for (const auto& tag : tags) {
    auto found = std::find_if(images->begin(), images->end(),
                              [&](const Image& image) { return image.tag == tag; });
    if (found == images->end())
      return make_error(ErrorCode::invalid_argument,
                        fmt::format("--prepull {}: no such image in the catalog", tag));
    ImageToPull pull{found->reference};
    if (auto login = catalog::login_for(logins, found->reference)) {
      pull.registry_username = login->username;
      pull.registry_password = login->password;
    }
    pulls.push_back(std::move(pull));
  }
  return pulls;
}

}  // namespace gpupool::app
