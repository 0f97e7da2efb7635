#include "engine/docker_api/log_stream.hpp"

#include <algorithm>
#include <cstdint>

namespace gpupool::docker_api {

namespace {

constexpr std::size_t kFrameHeader = 8;  // stream (0 stdin, 1 stdout, 2 stderr), 3 zeros, length

bool frame_starts_at(std::string_view raw, std::size_t at) {
  if (raw.size() - at < kFrameHeader) return false;
  auto stream = static_cast<unsigned char>(raw[at]);
  return stream <= 2 && raw[at + 1] == 0 && raw[at + 2] == 0 && raw[at + 3] == 0;
}

}  // namespace

std::string demultiplexed_log(std::string_view raw) {
  if (raw.empty() || !frame_starts_at(raw, 0)) return std::string(raw);
  std::string text;
  std::size_t at = 0;
  while (at < raw.size() && frame_starts_at(raw, at)) {
    std::uint32_t length = 0;
    for (std::size_t i = 4; i < kFrameHeader; ++i)
      length = (length << 8) | static_cast<unsigned char>(raw[at + i]);
    at += kFrameHeader;
    std::size_t piece = std::min<std::size_t>(length, raw.size() - at);
    text.append(raw.substr(at, piece));
    at += piece;
  }
  return text;
}

}  // namespace gpupool::docker_api
