// Who is on the other end: the connection's peer, or — only when that peer is a proxy the
// admin trusts (`--trusted-proxy CIDR`) — the address that proxy saw, read from the right of
// X-Forwarded-For past every trusted hop. Anything a client writes itself in the header is
// ignored, since an untrusted peer's header is never read and a trusted proxy appends the
// address it saw last. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/ipv4.hpp"

namespace gpupool::gateway {

std::string client_address(const std::string& peer, std::string_view forwarded_for,
                           const std::vector<Ipv4Block>& trusted_proxies);

}  // namespace gpupool::gateway
