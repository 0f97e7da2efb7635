// The web portal's files (web/), compiled into the binary at build time.
#pragma once

#include <string_view>
#include <vector>

namespace gpupool::api {

struct WebAsset {
  std::string_view path;  // "/ui/app.js"
  std::string_view content_type;
  std::string_view body;
};

const std::vector<WebAsset>& web_assets();

}  // namespace gpupool::api
