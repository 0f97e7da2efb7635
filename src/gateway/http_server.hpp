// HttpServer: the gateway's HTTP/1.1 listener (Boost.Beast), handing each request to one
// synchronous handler, or (under /s/) to the reverse proxy.
//
// Threads: start() runs `threads` threads, each with its own connections; the handler is
// called on any of them, concurrently, so it must be thread-safe. Bounded (ServerLimits):
// connections overall and per source (beyond them a connection is closed at once), headers
// 16 KiB, bodies 1 MiB (413 beyond), a time to send a request from its first byte (slowloris)
// and an idle time between requests. A streamed reply (ReplyStream) holds its connection until
// it ends; 30 s to take each piece. A pending reply (PendingReply) holds it until it is ready. Out
// of file descriptors, it stops accepting for a moment instead of spinning.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "gateway/connection_gate.hpp"

namespace gpupool::gateway {

struct HttpExchange {
  std::string method;
  std::string target;  // as sent: path and query
  std::string path;    // target before '?'
  std::string query;   // after '?', without it
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;
  std::uint16_t local_port = 0;  // which of the server's listeners it came to

  // The first header of that name (case-insensitive), or "".
  std::string header(std::string_view name) const;
  // Every field of that name joined by ", ", as a list-valued header reads (RFC 9110 5.3).
  std::string header_list(std::string_view name) const;
};

// The body of a reply that goes on after its headers (server-sent events). The server asks
// it for more every interval() on one of its threads, sends what it gets ("" sends nothing
// this time), and ends the reply when next() returns nullopt or the client goes away.
class ReplyStream {
 public:
  virtual ~ReplyStream() = default;
  virtual std::optional<std::string> next() = 0;
  virtual std::chrono::milliseconds interval() const { return std::chrono::milliseconds(250); }
};

// A reply that is not known yet when the handler returns (a long poll). The server holds the
// connection, with no thread, until the reply calls `ready` or wait() passes (or the server
// drains), then asks it for the reply on a handler thread. The connection closes after it.
class PendingReply {
 public:
  virtual ~PendingReply() = default;  // the connection is done with it: withdraw any wait
  virtual std::chrono::milliseconds wait() const = 0;
  // Called once, before the wait begins; `ready` may be called from any thread, any number
  // of times, also from within start().
  virtual void start(std::function<void()> ready) = 0;
  // The reply, made on a handler thread; not asked for when the client has gone meanwhile.
  virtual struct HttpReply reply() = 0;
};

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<ReplyStream> stream = {};    // set: `body` is ignored and this streams instead
  std::shared_ptr<PendingReply> pending = {};  // set: everything else is ignored; it replies later
};

using HttpHandler = std::function<HttpReply(const HttpExchange&)>;

struct ProxyDecision;
class TunnelRegistry;
// Requests under /s/ go to the proxy router instead of the handler (see http_proxy.hpp).
using ProxyRouter = std::function<ProxyDecision(const HttpExchange&)>;

inline constexpr std::size_t kMaxRequestBody = 1024 * 1024;
inline constexpr std::size_t kMaxRequestHeaders = 16 * 1024;

struct ServerLimits {
  ConnectionCaps connections;
  // From a request's first byte to its end (headers, and a body outside /s/).
  std::chrono::seconds request_time{30};
  // A connection with no request under way: kept alive between requests, or just opened.
  std::chrono::seconds idle_time{60};
};

class HttpServer {
 public:
  explicit HttpServer(HttpHandler handler, ProxyRouter proxy = {},
                      TunnelRegistry* tunnels = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Replaces the default limits (call before start()).
  void set_limits(ServerLimits limits);
  // Connections open now.
  std::size_t open_connections() const;
  // Serves HTTPS with this PEM certificate chain and key (call before start()).
  Status use_tls(const std::string& certificate_chain_file, const std::string& private_key_file);
  // Binds host:port (port 0 picks a free one) and returns the bound port. May be called more
  // than once (before start()): every listener serves the same handler and proxy, and each
  // exchange says which one it came to (HttpExchange::local_port).
  Result<std::uint16_t> listen(const std::string& host, std::uint16_t port);
  // Serves on `threads` threads until stop(); returns at once.
  void start(int threads);
  // Stops accepting; closes idle connections, event streams and WebSocket tunnels; lets
  // requests under way finish (and closes their connections then) for up to `bound`.
  // Returns how many connections were still open at the end. stop() after it.
  std::size_t drain(std::chrono::milliseconds bound);
  // Stops accepting, closes connections and joins the threads.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpupool::gateway
