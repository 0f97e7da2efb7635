// The gateway's reverse proxy to session Jupyters: what the router decides for a request
// (ProxyDecision), the relay that carries it out over Beast, and the registry that closes a
// credential's WebSocket tunnels when it logs out.
//
// The router decides from the request's headers alone, before any of its body is read, so a
// caller who may not reach the session never gets more than the header buffer in. Request
// bodies (uploads of any size) and responses are then streamed through in 64 KiB pieces,
// never buffered whole; a WebSocket upgrade is forwarded as HTTP and, once the upstream
// answers 101, both sides are spliced byte for byte until either closes or it sits idle.
// Hop-by-hop headers are dropped; the caller's Authorization and the gateway's own cookies
// never reach the upstream.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "gateway/connection_gate.hpp"
#include "gateway/http_server.hpp"

namespace gpupool::gateway {

struct ProxyDecision {
  std::optional<HttpReply> reply;  // answer here instead (refused, not found, redirect)
  std::string host;                // upstream, from the store
  std::uint16_t port = 0;
  // Set: the upstream is a node's app relay (app/app_relay.hpp); this line goes first on each
  // new connection, and the relay's "OK" must come back before the request goes.
  std::string preamble;
  std::string upstream_name = "the session's Jupyter";           // for error pages
  std::string target;                                            // path and query to send upstream
  std::vector<std::pair<std::string, std::string>> set_headers;  // e.g. Jupyter's token
  std::vector<std::string> strip_cookies;                        // the gateway's own cookies
  std::string credential;  // whose login this rides on; logout closes its tunnels
  // For a WebSocket upgrade: the caller's place among their open tunnels, held while the
  // tunnel lasts, and how long it may carry nothing either way before it is closed.
  Admission tunnel_slot;
  std::chrono::seconds tunnel_idle_time{3600};
};

// An open WebSocket tunnel, as the registry sees it.
class Tunnel {
 public:
  virtual ~Tunnel() = default;
  virtual void close() = 0;  // from any thread
};

// Open WebSocket tunnels by credential. Thread-safe.
class TunnelRegistry {
 public:
  void add(const std::string& credential, const std::shared_ptr<Tunnel>& tunnel);
  void remove(const std::string& credential, const Tunnel* tunnel);
  // Closes every tunnel opened with this credential.
  void close_all(const std::string& credential);
  // Closes every tunnel (the server is shutting down).
  void close_everything();
  std::size_t open_count() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::map<const Tunnel*, std::weak_ptr<Tunnel>>> tunnels_;
};

// A client's request with its header read and its body (if any) not yet.
using ClientRequestHeader = boost::beast::http::request_parser<boost::beast::http::string_body>;

// The upstream connection a client connection used last, kept open for its next request to
// the same upstream (so Jupyter is not asked to accept a connection per request).
struct KeptUpstream {
  std::string host;
  std::uint16_t port = 0;
  std::string preamble;  // where the relay it goes through leads
  std::optional<boost::beast::tcp_stream> stream;
};
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// Relays one request to decision's upstream and the answer back, the request's body read
// from `client` as it goes, over `kept`'s connection when it leads there and the request has
// no body (leaving the connection in `kept` afterwards when it can be reused).
// `done(keep_alive)` is called once on the client stream's executor when the exchange is over
// (for an upgrade, when the tunnel closes, with keep_alive false); the caller keeps `client`,
// `client_buffer` and `kept` alive until then.
void relay(boost::beast::tcp_stream& client, boost::beast::flat_buffer& client_buffer,
           KeptUpstream& kept, ClientRequestHeader&& request, ProxyDecision decision,
           TunnelRegistry& registry, std::function<void(bool keep_alive)> done);
void relay(TlsStream& client, boost::beast::flat_buffer& client_buffer, KeptUpstream& kept,
           ClientRequestHeader&& request, ProxyDecision decision, TunnelRegistry& registry,
           std::function<void(bool keep_alive)> done);

// The page for an upstream (named like "the session's Jupyter") that does not answer.
HttpReply bad_gateway_page(const std::string& why,
                           const std::string& upstream_name = "the session's Jupyter");

}  // namespace gpupool::gateway
