#include "engine/docker_api/tar.hpp"

#include <cstdint>

namespace gpupool::docker_api {

namespace {

constexpr std::size_t kBlock = 512;
constexpr std::size_t kSizeOffset = 124;
constexpr std::size_t kSizeLength = 12;
constexpr std::size_t kTypeOffset = 156;

Error malformed(std::string why) {
  return make_error(ErrorCode::unavailable, "engine archive: " + std::move(why));
}

}  // namespace

Result<std::string> single_file_from_tar(std::string_view archive, std::size_t max_size) {
  if (archive.size() < kBlock) return malformed("shorter than one header");
  char type = archive[kTypeOffset];
  if (type != '0' && type != '\0') return malformed("first entry is not a regular file");
  std::uint64_t size = 0;
  for (std::size_t i = kSizeOffset; i < kSizeOffset + kSizeLength; ++i) {
    char digit = archive[i];
    if (digit == '\0' || digit == ' ') break;
    if (digit < '0' || digit > '7') return malformed("bad size field");
    size = size * 8 + static_cast<std::uint64_t>(digit - '0');
    if (size > max_size) return malformed("file is larger than expected");
  }
  if (archive.size() < kBlock + size) return malformed("truncated");
  return std::string(archive.substr(kBlock, size));
}

}  // namespace gpupool::docker_api
