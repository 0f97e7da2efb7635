// The image catalog from the command line: `gpupool images` lists it (admins see every image
// with its check); `gpupool admin image-add|image-set|image-check` run it. Each returns the
// exit code.
#pragma once

#include <optional>
#include <string>

namespace gpupool::cli {

struct ImageSetOptions {
  std::optional<std::string> state;  // testing, canary, stable, deprecated, retired
  std::optional<bool> prepull;
  bool make_default = false;
};

int images();
int add_image(const std::string& reference, const std::string& tag, bool prepull);
int set_image(const std::string& tag, const ImageSetOptions& options);
int check_image(const std::string& tag);

}  // namespace gpupool::cli
