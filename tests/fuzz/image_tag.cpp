// Semantic image tags, from users' requests and images' labels.
#include "catalog/image_tag.hpp"
#include "fuzz_input.hpp"

using gpupool::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  gpupool::fuzz::ByteReader input(data, size);
  std::string driver = input.text(8);
  std::string_view text = input.rest();
  auto tag = gpupool::catalog::parse_image_tag(text);
  if (!tag) return 0;
  require(!tag->framework.empty() && !tag->framework_version.empty() && !tag->flavor.empty(),
          "an accepted tag names framework, version and flavour");
  (void)gpupool::catalog::driver_supports(driver, tag->cuda);
  return 0;
}
