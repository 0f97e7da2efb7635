#include "services/admission.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "catalog/image_tag.hpp"
#include "scheduler/schedule.hpp"

namespace gpupool::services {

namespace {

Error invalid(std::string message) {
  return make_error(ErrorCode::invalid_argument, std::move(message));
}

}  // namespace

Result<Image> find_requested_image(const std::vector<Image>& catalog, const std::string& tag,
                                   const User& caller) {
  const Image* image = nullptr;
  for (const auto& candidate : catalog) {
    if (tag.empty() ? candidate.is_default : candidate.tag == tag) image = &candidate;
  }
  bool hidden = image != nullptr && ((image->state == ImageState::testing && !caller.admin) ||
                                     (!image->owner.empty() && image->owner != caller.username));
  if (image == nullptr || hidden) {
    if (tag.empty()) return make_error(ErrorCode::unavailable, "no default image in the catalog");
    return make_error(
        ErrorCode::not_found,
        fmt::format("image \"{}\" is not in the catalog (GET /api/v1/images lists them)",
                    tag.substr(0, 128)));
  }
  if (image->state == ImageState::retired)
    return invalid(
        fmt::format("image \"{}\" is retired: choose another (GET /api/v1/images)", image->tag));
  if (image->state == ImageState::deprecated) {
    return invalid(fmt::format(
        "image \"{}\" is deprecated: it starts no new sessions (running ones go on); choose "
        "another (GET /api/v1/images)",
        image->tag));
  }
  if (image->check.state == CheckState::failed) {
    return invalid(fmt::format("image \"{}\" failed its contract check: {}", image->tag,
                               image->check.message));
  }
  if (!image->owner.empty() && image->check.state != CheckState::passed) {
    return make_error(
        ErrorCode::unavailable,
        fmt::format("image \"{}\" is still being checked (a minute or two): try again then",
                    image->tag));
  }
  if (image->status != "available") {
    return make_error(
        ErrorCode::unavailable,
        fmt::format("image \"{}\" is in the catalog but not present on any node yet", image->tag));
  }
  return *image;
}

// Checks that some node of the pool could ever hold the request, so that an impossible
// request is refused now rather than queued forever.
Status check_request_fits_pool(const SessionRequest& request, const std::string& image_cuda,
                               const std::vector<Node>& nodes) {
  if (nodes.empty()) return make_error(ErrorCode::unavailable, "the pool has no nodes yet");
  int most_gpus = 0;
  std::int64_t most_gpu_memory = 0;
  std::set<std::string> models;
  bool cpus_fit = false;
  bool memory_fit = false;
  const Node* best_driver = nullptr;
  for (const auto& node : nodes) {
    int matching = 0;
    for (const auto& gpu : node.gpus) {
      models.insert(gpu.model);
      if (request.gpu_model.empty() || gpu.model == request.gpu_model) {
        ++matching;
        most_gpu_memory = std::max(most_gpu_memory, gpu.memory_mb);
      }
    }
    if (best_driver == nullptr ||
        catalog::compare_versions(node.driver_cuda, best_driver->driver_cuda) > 0) {
      best_driver = &node;
    }
    most_gpus = std::max(most_gpus, matching);
    cpus_fit = cpus_fit || request.cpus <= node.cpus;
    memory_fit = memory_fit || request.memory_mb <= node.memory_mb;
  }
  if (!request.gpu_model.empty() && !models.contains(request.gpu_model)) {
    std::string known;
    for (const auto& model : models) known += (known.empty() ? "" : ", ") + model;
    return invalid(
        fmt::format("no GPU model \"{}\" in the pool (it has: {})", request.gpu_model, known));
  }
  if (!request.node_selector.empty() &&
      std::none_of(nodes.begin(), nodes.end(), [&](const Node& node) {
        return scheduler::matches(node, request.node_selector);
      })) {
    return invalid("no node in the pool has all the labels in \"node_selector\"");
  }
  if (!catalog::driver_supports(best_driver->driver_cuda, image_cuda)) {
    return invalid(
        best_driver->driver_cuda.empty()
            ? fmt::format("the image needs CUDA {}; no node has an NVIDIA driver", image_cuda)
            : fmt::format(
                  "the image needs CUDA {}; the newest driver in the pool (node {}) supports {}",
                  image_cuda, best_driver->name, best_driver->driver_cuda));
  }
  if (request.gpu_memory_mb > most_gpu_memory) {
    return invalid(fmt::format("asked for {:g} GB of GPU memory but the largest GPU has {:g} GB",
                               static_cast<double>(request.gpu_memory_mb) / 1024,
                               static_cast<double>(most_gpu_memory) / 1024));
  }
  if (request.gpus > most_gpus) {
    return invalid(fmt::format("asked for {} GPUs but the largest node has {}{}", request.gpus,
                               most_gpus,
                               request.gpu_model.empty() ? "" : " " + request.gpu_model));
  }
  if (!cpus_fit)
    return invalid(fmt::format("asked for {} CPUs, more than any node has", request.cpus));
  if (!memory_fit) {
    return invalid(fmt::format("asked for {} GB of memory, more than any node has",
                               static_cast<double>(request.memory_mb) / 1024));
  }
  return {};
}

}  // namespace gpupool::services
