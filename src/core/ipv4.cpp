#include "core/ipv4.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace gpupool {

namespace {

std::uint32_t mask_of(int prefix) {
  return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
}

// A decimal number 0..max with no sign, no leading zero and nothing after it.
bool parse_decimal(std::string_view text, int max, int& value) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) return false;
  // from_chars would take a sign.
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && value <= max;
}

}  // namespace

bool Ipv4Block::contains(std::uint32_t address) const {
  return (address & mask_of(prefix)) == base;
}

bool Ipv4Block::overlaps(const Ipv4Block& other) const {
  int shorter = std::min(prefix, other.prefix);
  return (base & mask_of(shorter)) == (other.base & mask_of(shorter));
}

std::string Ipv4Block::to_string() const {
  return fmt::format("{}/{}", ipv4_to_string(base), prefix);
}

Result<std::uint32_t> parse_ipv4(std::string_view text) {
  std::uint32_t address = 0;
  for (int part = 0; part < 4; ++part) {
    auto dot = text.find('.');
    bool last = part == 3;
    if (last != (dot == std::string_view::npos))
      return make_error(ErrorCode::invalid_argument, "not an IPv4 address");
    int value = 0;
    if (!parse_decimal(text.substr(0, dot), 255, value))
      return make_error(ErrorCode::invalid_argument, "not an IPv4 address");
    address = address << 8 | static_cast<std::uint32_t>(value);
    if (!last) text.remove_prefix(dot + 1);
  }
  return address;
}

Result<Ipv4Block> parse_ipv4_block(std::string_view text) {
  auto slash = text.find('/');
  auto address = parse_ipv4(text.substr(0, slash));
  if (!address) return make_error(ErrorCode::invalid_argument, "not an IPv4 block (a.b.c.d/n)");
  int prefix = 32;
  if (slash != std::string_view::npos && !parse_decimal(text.substr(slash + 1), 32, prefix))
    return make_error(ErrorCode::invalid_argument, "not an IPv4 block (a.b.c.d/n)");
  if ((*address & ~mask_of(prefix)) != 0)
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("{} has host bits set; the block starts at {}", text,
                                  Ipv4Block{*address & mask_of(prefix), prefix}.to_string()));
  return Ipv4Block{*address, prefix};
}

std::string ipv4_to_string(std::uint32_t address) {
  return fmt::format("{}.{}.{}.{}", address >> 24, (address >> 16) & 255, (address >> 8) & 255,
                     address & 255);
}

}  // namespace gpupool
