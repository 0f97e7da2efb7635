// IPv4 addresses and CIDR blocks: parsing, containment and overlap. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gpupool {

struct Ipv4Block {
  std::uint32_t base = 0;  // host order, host bits zero
  int prefix = 32;

  bool contains(std::uint32_t address) const;
  bool overlaps(const Ipv4Block& other) const;
  std::string to_string() const;  // "10.213.0.16/28"
};

// "a.b.c.d" in host order; invalid_argument for anything else (no leading zeros, no hex).
Result<std::uint32_t> parse_ipv4(std::string_view text);
// "a.b.c.d/n" (a bare address is /32); host bits must be zero.
Result<Ipv4Block> parse_ipv4_block(std::string_view text);
std::string ipv4_to_string(std::uint32_t address);

}  // namespace gpupool
