// Semantic image tags: "pytorch2.7-cuda11.8-cudnn8-runtime", "pytorch1.13-cpu-debian12-runtime".
//
// A tag names framework and version, then CUDA ("cudaX.Y") or "cpu", optionally cuDNN
// ("cudnnN") and a base OS ("debian12", "ubuntu22.04"), and ends with a flavor
// ("runtime", "devel" or "base"). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gpupool::catalog {

struct ImageTag {
  std::string framework;          // "pytorch"
  std::string framework_version;  // "2.7"
  std::string cuda;               // "11.8"; empty for CPU-only images
  std::string cudnn;              // "8"; may be empty
  std::string os;                 // "debian12"; may be empty
  std::string flavor;             // "runtime", "devel" or "base"
};

Result<ImageTag> parse_image_tag(std::string_view tag);

// Compares dotted version strings numerically: negative, zero or positive like strcmp.
int compare_versions(std::string_view left, std::string_view right);

// True when a driver that supports up to CUDA `driver_cuda` can run an image built for
// `image_cuda`. CPU-only images (empty `image_cuda`) run anywhere.
bool driver_supports(std::string_view driver_cuda, std::string_view image_cuda);

}  // namespace gpupool::catalog
