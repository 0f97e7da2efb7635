// Where a user's webhook may point. Users name the URL and the server makes the request, so a
// webhook must not become a way into what only the server reaches: loopback, private,
// link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast and reserved
// IPv4 blocks are refused unless an admin allows a block (--webhook-allow), and only IPv4
// addresses are used. Pure but resolve_webhook_host, which asks the system's resolver.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ipv4.hpp"
#include "core/result.hpp"

namespace gpupool::net {

struct WebhookUrl {
  bool tls = false;
  std::string host;  // a name or an IPv4 address
  std::uint16_t port = 80;
  std::string target = "/";  // path and query
};

// http:// or https:// with a host, an optional port and path; no user info, no fragment, at
// most 2,000 characters. The error says what is wrong.
Result<WebhookUrl> parse_webhook_url(const std::string& url);

// Whether a webhook may be posted to `address` (host order): not in a refused block, or in an
// allowed one.
bool webhook_address_allowed(std::uint32_t address, const std::vector<Ipv4Block>& allowed);

// The host's IPv4 addresses, each allowed; forbidden (naming the address) when any is not, so
// that a name cannot point at both a public and a private address.
Result<std::vector<std::uint32_t>> resolve_webhook_host(const std::string& host,
                                                        const std::vector<Ipv4Block>& allowed);

}  // namespace gpupool::net
