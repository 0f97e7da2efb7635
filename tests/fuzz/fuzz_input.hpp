// What the fuzz targets share: reading structured values from the fuzzer's bytes, and
// stopping loudly when an invariant does not hold (libFuzzer then keeps the input).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace gpupool::fuzz {

// Takes values off the front of the input; at its end, every read gives zero or "".
class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size)
      : bytes_(reinterpret_cast<const char*>(data), size) {}

  std::uint8_t byte() {
    if (bytes_.empty()) return 0;
    auto value = static_cast<std::uint8_t>(bytes_.front());
    bytes_.remove_prefix(1);
    return value;
  }
  bool flag() { return (byte() & 1) != 0; }
  // Up to `most` bytes: as many as the next byte says.
  std::string text(std::size_t most = 64) {
    std::size_t length = std::min<std::size_t>(byte() % (most + 1), bytes_.size());
    std::string value(bytes_.substr(0, length));
    bytes_.remove_prefix(length);
    return value;
  }
  std::string_view rest() const { return bytes_; }

 private:
  std::string_view bytes_;
};

inline void require(bool holds, const char* invariant) {
  if (holds) return;
  std::fprintf(stderr, "invariant broken: %s\n", invariant);
  std::abort();
}

}  // namespace gpupool::fuzz
