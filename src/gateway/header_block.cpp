#include "gateway/header_block.hpp"

namespace gpupool::gateway {

std::size_t header_block_length(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != '\n') continue;
    if (i == 0 || bytes[i - 1] != '\r') return i + 1;                  // a bare LF
    if (i >= 3 && bytes.substr(i - 3, 4) == "\r\n\r\n") return i + 1;  // the end
    if (i + 1 < bytes.size() && (bytes[i + 1] == ' ' || bytes[i + 1] == '\t'))
      return i + 2;  // a fold
  }
  return 0;
}

bool ends_in_fold(std::string_view block) {
  return !block.empty() && (block.back() == ' ' || block.back() == '\t');
}

}  // namespace gpupool::gateway
