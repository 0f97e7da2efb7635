#include "net/webhook_target.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>

#include <fmt/format.h>
#include <boost/url/parse.hpp>

namespace gpupool::net {

namespace {

// RFC 6890's special-purpose blocks and the private ones.
const std::vector<Ipv4Block>& refused_blocks() {
  static const std::vector<Ipv4Block> blocks = [] {
    std::vector<Ipv4Block> list;
    for (const char* block :
         {"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
          "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
          "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4"})
      list.push_back(*parse_ipv4_block(block));
    return list;
  }();
  return blocks;
}

Error bad_url(const std::string& why) {
  return make_error(ErrorCode::invalid_argument, "webhook URL: " + why);
}

}  // namespace

Result<WebhookUrl> parse_webhook_url(const std::string& url) {
  if (url.size() > 2000) return bad_url("longer than 2,000 characters");
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return bad_url("not an absolute URL");
  WebhookUrl target;
  std::string scheme(parsed->scheme());
  if (scheme != "http" && scheme != "https") return bad_url("only http:// and https:// are used");
  target.tls = scheme == "https";
  if (parsed->has_userinfo()) return bad_url("user names and passwords in it are not accepted");
  if (parsed->has_fragment()) return bad_url("a #fragment is not sent; leave it out");
  target.host = std::string(parsed->encoded_host());
  if (target.host.empty()) return bad_url("it names no host");
  if (parsed->host_type() == boost::urls::host_type::ipv6 ||
      parsed->host_type() == boost::urls::host_type::ipvfuture)
    return bad_url("IPv6 addresses are not used; name the host");
  for (char c : target.host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-')
      return bad_url("the host name has characters a host name cannot have");
  }
  target.port = target.tls ? 443 : 80;
  if (parsed->has_port()) {
    if (parsed->port_number() == 0) return bad_url("the port must be 1-65535");
    target.port = parsed->port_number();
  }
  std::string path(parsed->encoded_path());
  target.target = path.empty() ? "/" : path;
  if (parsed->has_query()) target.target += "?" + std::string(parsed->encoded_query());
  return target;
}

bool webhook_address_allowed(std::uint32_t address, const std::vector<Ipv4Block>& allowed) {
  auto in = [address](const Ipv4Block& block) { return block.contains(address); };
  if (std::any_of(allowed.begin(), allowed.end(), in)) return true;
  return std::none_of(refused_blocks().begin(), refused_blocks().end(), in);
}

Result<std::vector<std::uint32_t>> resolve_webhook_host(const std::string& host,
                                                        const std::vector<Ipv4Block>& allowed) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int failure = getaddrinfo(host.c_str(), nullptr, &hints, &found); failure != 0) {
    return make_error(ErrorCode::unavailable,
                      fmt::format("cannot resolve {}: {}", host, gai_strerror(failure)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(found, freeaddrinfo);
  std::vector<std::uint32_t> addresses;
  for (addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
    auto address = ntohl(reinterpret_cast<sockaddr_in*>(entry->ai_addr)->sin_addr.s_addr);
    if (!webhook_address_allowed(address, allowed)) {
      return make_error(ErrorCode::forbidden,
                        fmt::format("{} is {}, an address webhooks may not reach (an admin can "
                                    "allow its block: --webhook-allow)",
                                    host, ipv4_to_string(address)));
    }
    addresses.push_back(address);
  }
  if (addresses.empty()) return make_error(ErrorCode::unavailable, "no IPv4 address for " + host);
  return addresses;
}

}  // namespace gpupool::net
