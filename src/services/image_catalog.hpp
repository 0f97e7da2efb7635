// ImageCatalog: the catalog admins run. An admin adds an image by its registry reference;
// gpupool pins it to the digest its tag names now, parses its semantic tag and orders its
// contract check (image_checks.hpp), and it waits in testing until an admin opens it to users
// (catalog/image_contract.hpp says which steps are allowed). Users see what is open to them,
// each image with the nodes whose driver can run it.
//
// Thread-safe as far as the store is.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "catalog/image_reference.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "model/node.hpp"
#include "model/user.hpp"
#include "store/store.hpp"

namespace gpupool::services {

struct NewImage {
  std::string reference;  // "registry:5000/team/pytorch:pytorch2.7-cuda11.8-cudnn8-runtime"
  std::string tag;        // the semantic tag; "" takes the reference's own
  bool prepull = false;
};

struct ImageChange {
  std::optional<ImageState> state;
  std::optional<bool> prepull;
  std::optional<bool> is_default;  // true makes it the default, in place of the one before
};

// Whether one node can run an image: its driver's CUDA against the image's.
struct ImageFit {
  std::string node;
  std::string driver_cuda;              // "" when the node has no NVIDIA driver
  std::vector<std::string> gpu_models;  // the node's, once each
  bool able = false;
};

std::vector<ImageFit> image_fits(const Image& image, const std::vector<Node>& nodes);

// The digest ("sha256:…") a registry reference's tag names now (catalog/registry_client.hpp);
// a function, so that tests need no registry.
using DigestResolver = std::function<Result<std::string>(const catalog::ImageReference&)>;

class ImageCatalog {
 public:
  ImageCatalog(Store& store, const Clock& clock, DigestResolver resolve_digest)
      : store_(store), clock_(clock), resolve_digest_(std::move(resolve_digest)) {}

  // In testing, its check pending. A malformed reference or tag, a tag taken, an image the
  // registry does not have: errors that say which.
  Result<Image> add(const std::string& admin, const NewImage& request);
  Result<Image> change(const std::string& tag, const ImageChange& change);
  // Runs the contract check again (after the image was fixed, or a node was).
  Result<Image> recheck(const std::string& tag);
  // Admins see every catalog image; users those open to them (canary, stable, deprecated).
  // Saved images (image_saves.hpp) are listed to their owners only.
  Result<std::vector<Image>> list(const User& caller);

 private:
  Result<Image> find(const std::string& tag);

  Store& store_;
  const Clock& clock_;
  DigestResolver resolve_digest_;
};

}  // namespace gpupool::services
