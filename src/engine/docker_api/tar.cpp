#include "engine/docker_api/tar.hpp"

#include <cstdint>
#include <cstdio>

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

std::string tar_of_single_file(const std::string& name, std::string_view content, unsigned mode) {
  std::string header(kBlock, '\0');
  auto octal = [&header](std::size_t offset, std::size_t length, std::uint64_t value) {
    std::string digits(length - 1, '0');
    for (std::size_t i = digits.size(); i-- > 0 && value != 0; value /= 8)
      digits[i] = static_cast<char>('0' + value % 8);
    header.replace(offset, digits.size(), digits);
  };
  header.replace(0, std::min<std::size_t>(name.size(), 100), name.substr(0, 100));
  octal(100, 8, mode);  // mode
  octal(108, 8, 0);     // uid: root
  octal(116, 8, 0);     // gid: root
  octal(kSizeOffset, kSizeLength, content.size());
  octal(136, 12, 0);  // mtime
  header[kTypeOffset] = '0';
  header.replace(257, 6, std::string("ustar\0", 6));
  header.replace(263, 2, "00");
  // The checksum is the byte sum of the header with its own field read as spaces.
  header.replace(148, 8, std::string(8, ' '));
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  char checksum[8];
  std::snprintf(checksum, sizeof checksum, "%06o", sum);
  header.replace(148, 7, std::string(checksum, 6) + '\0');
  std::string archive = header;
  archive.append(content);
  archive.append((kBlock - content.size() % kBlock) % kBlock, '\0');
  archive.append(2 * kBlock, '\0');  // end of archive
  return archive;
}

}  // namespace gpupool::docker_api
