#include "services/image_catalog.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "catalog/image_contract.hpp"
#include "catalog/image_tag.hpp"

namespace gpupool::services {

namespace {

Error invalid(std::string message) {
  return make_error(ErrorCode::invalid_argument, std::move(message));
}

// The reference as nodes will run it: pinned to what its tag names now, when it names a
// registry (a local image name is the engine's own, kept as it is).
Result<std::string> pinned_reference(const catalog::ImageReference& reference,
                                     const std::string& text, const DigestResolver& resolve) {
  if (!reference.names_registry || !reference.digest.empty()) return text;
  if (!resolve)
    return invalid(
        fmt::format("cannot ask registry {} which content {} names: give the "
                    "reference with its digest (…@sha256:…)",
                    reference.registry, text));
  auto digest = resolve(reference);
  if (!digest && digest.error().code == ErrorCode::not_found)
    return invalid(fmt::format("the registry has no image {}: {}", text, digest.error().message));
  if (!digest) {
    return make_error(ErrorCode::unavailable,
                      fmt::format("cannot ask registry {} about {}: {}", reference.registry, text,
                                  digest.error().message));
  }
  return reference.with_digest(*digest);
}

}  // namespace

std::vector<ImageFit> image_fits(const Image& image, const std::vector<Node>& nodes) {
  std::vector<ImageFit> fits;
  for (const auto& node : nodes) {
    if (node.removed) continue;
    ImageFit fit{
        node.name, node.driver_cuda, {}, catalog::driver_supports(node.driver_cuda, image.cuda)};
    std::set<std::string> models;
    for (const auto& gpu : node.gpus) models.insert(gpu.model);
    fit.gpu_models.assign(models.begin(), models.end());
    fits.push_back(std::move(fit));
  }
  return fits;
}

Result<Image> ImageCatalog::add(const std::string& admin, const NewImage& request) {
  if (request.reference.empty() || request.reference.size() > 512)
    return invalid("\"reference\" must name an image, in at most 512 characters");
  auto reference = catalog::parse_image_reference(request.reference);
  if (!reference) return invalid("\"reference\": " + reference.error().message);
  std::string tag_text = request.tag.empty() ? reference->tag : request.tag;
  if (tag_text.empty()) {
    return invalid(
        "the reference has no tag to read the image's versions from: give a semantic \"tag\" "
        "such as pytorch2.7-cuda11.8-cudnn8-runtime");
  }
  auto tag = catalog::parse_image_tag(tag_text);
  if (!tag) return tag.error();
  auto pinned = pinned_reference(*reference, request.reference, resolve_digest_);
  if (!pinned) return pinned.error();

  Image image{tag_text,    *pinned, tag->framework, tag->framework_version, tag->cuda, tag->cudnn,
              tag->flavor, false,   "available"};
  image.state = ImageState::testing;
  image.prepull = request.prepull;
  image.added_by = admin;
  image.added_at = clock_.now();
  image.check.state = CheckState::pending;
  GPUPOOL_TRY(store_.add_image(image));
  return image;
}

Result<Image> ImageCatalog::find(const std::string& tag) {
  auto images = store_.list_images();
  if (!images) return images.error();
  auto found = std::find_if(images->begin(), images->end(),
                            [&](const Image& image) { return image.tag == tag; });
  if (found == images->end())
    return make_error(ErrorCode::not_found,
                      fmt::format("no image \"{}\" in the catalog", tag.substr(0, 128)));
  return *found;
}

Result<Image> ImageCatalog::change(const std::string& tag, const ImageChange& change) {
  Result<Image> changed = make_error(ErrorCode::internal, "not changed");
  GPUPOOL_TRY(store_.in_transaction([&]() -> Status {
    auto image = find(tag);
    if (!image) return image.error();
    if (change.state) {
      GPUPOOL_TRY(catalog::check_state_change(*image, *change.state));
      image->state = *change.state;
    }
    if (change.prepull) image->prepull = *change.prepull;
    if (change.is_default == true && !image->is_default) {
      if (image->state != ImageState::stable)
        return invalid(fmt::format("only a stable image can be the default; \"{}\" is {}", tag,
                                   to_string(image->state)));
      auto all = store_.list_images();
      if (!all) return all.error();
      for (auto& other : *all) {
        if (!other.is_default) continue;
        other.is_default = false;
        GPUPOOL_TRY(store_.update_image(other));
      }
      image->is_default = true;
    } else if (change.is_default == false && image->is_default) {
      return invalid("the catalog needs a default image: make another one the default instead");
    }
    if (image->is_default && image->state != ImageState::stable)
      return invalid(fmt::format(
          "\"{}\" is the default image: make another one the default before it leaves stable",
          tag));
    GPUPOOL_TRY(store_.update_image(*image));
    changed = std::move(*image);
    return {};
  }));
  return changed;
}

Result<Image> ImageCatalog::recheck(const std::string& tag) {
  Result<Image> changed = make_error(ErrorCode::internal, "not changed");
  GPUPOOL_TRY(store_.in_transaction([&]() -> Status {
    auto image = find(tag);
    if (!image) return image.error();
    if (image->state == ImageState::retired)
      return invalid(fmt::format("image \"{}\" is retired", tag));
    image->check = ImageCheck{};
    image->check.state = CheckState::pending;
    GPUPOOL_TRY(store_.update_image(*image));
    changed = std::move(*image);
    return {};
  }));
  return changed;
}

Result<std::vector<Image>> ImageCatalog::list(const User& caller) {
  auto images = store_.list_images();
  if (!images) return images;
  std::erase_if(*images, [&](const Image& image) {
    if (!image.owner.empty()) return image.owner != caller.username;
    return !caller.admin &&
           (image.state == ImageState::testing || image.state == ImageState::retired);
  });
  return images;
}

}  // namespace gpupool::services
