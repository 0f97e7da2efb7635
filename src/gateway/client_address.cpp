#include "gateway/client_address.hpp"

#include <algorithm>

namespace gpupool::gateway {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// An IPv4 peer may arrive as an IPv4-mapped IPv6 address on a dual-stack listener.
std::string_view without_mapping(std::string_view address) {
  constexpr std::string_view kMapped = "::ffff:";
  return address.starts_with(kMapped) ? address.substr(kMapped.size()) : address;
}

// IPv4, or IPv6 by its alphabet: anything else in the header is not an address.
bool looks_like_address(std::string_view text) {
  if (parse_ipv4(text)) return true;
  return text.find(':') != std::string_view::npos && text.size() <= 45 &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == ':' || c == '.';
         });
}

bool is_trusted(std::string_view address, const std::vector<Ipv4Block>& trusted_proxies) {
  auto parsed = parse_ipv4(without_mapping(address));
  return parsed && std::any_of(trusted_proxies.begin(), trusted_proxies.end(),
                               [&](const Ipv4Block& block) { return block.contains(*parsed); });
}

}  // namespace

std::string client_address(const std::string& peer, std::string_view forwarded_for,
                           const std::vector<Ipv4Block>& trusted_proxies) {
  if (!is_trusted(peer, trusted_proxies)) return peer;
  std::string address = peer;
  while (!forwarded_for.empty()) {
    auto comma = forwarded_for.rfind(',');
    std::string_view hop =
        trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    forwarded_for = comma == std::string_view::npos ? "" : forwarded_for.substr(0, comma);
    if (!looks_like_address(hop)) break;  // malformed: keep the last address we trust
    address = std::string(without_mapping(hop));
    if (!is_trusted(hop, trusted_proxies)) break;
  }
  return address;
}

}  // namespace gpupool::gateway
