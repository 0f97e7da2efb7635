// A small blocking HTTP/1.1 client over TCP or a unix socket (Boost.Beast underneath).
//
// Used for the container engine's API (unix socket), Jupyter readiness probes, the CLI and an
// agent's calls to its server. http_call and http_stream open a connection and io_context of
// their own, so calls from different threads run in parallel and never share state;
// HttpConnection keeps one open for a caller that calls the same server over and over. Every
// call is bounded by a timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace boost::asio {
class io_context;
}

namespace gpupool::net {

struct Transport;

// Where to connect: "unix:///var/run/docker.sock", "http://host:port" or "https://host:port".
struct HttpEndpoint {
  bool is_unix = false;
  std::string socket_path;  // when is_unix
  std::string host;         // when TCP; also sent as the Host header
  std::uint16_t port = 80;
  // HTTPS: the server's certificate must verify against the system's CAs, or against
  // the PEM file named by $GPUPOOL_CA_FILE (e.g. a lab's own gateway certificate).
  bool tls = false;
  // HTTPS: set ("sha256:…", certificate_pin.hpp), the server must present a certificate
  // with exactly this public key instead; no CA, no host name check (an agent joining a
  // server with a self-signed certificate).
  std::string pin = {};
  // HTTPS: a PEM file of CAs trusted besides those (a site's own CA for its identity provider).
  std::string ca_file = {};
};

Result<HttpEndpoint> parse_http_endpoint(const std::string& address);

// Percent-encodes everything but RFC 3986's unreserved characters: safe as one path segment
// or one query value.
std::string url_encode(std::string_view text);

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  std::string header(const std::string& name) const;
};

inline constexpr std::size_t kDefaultResponseLimit = 64 * 1024 * 1024;

// Lets another thread end a call under way at once (it fails as `unavailable`). An interrupt
// with no call under way ends the next one as it begins, until clear(): a wake-up that comes
// just before a long poll starts is not lost. Thread-safe.
class CallInterrupter {
 public:
  void interrupt();
  void clear();

 private:
  friend class InterruptibleCall;
  std::mutex mutex_;
  boost::asio::io_context* call_ = nullptr;  // the call under way; guarded by mutex_
  bool interrupted_ = false;                 // guarded by mutex_
};

// Sends one request on a connection of its own and reads the whole response. A connection failure
// or timeout is an `unavailable` Error; any HTTP status, including 4xx/5xx, is a successful Result.
Result<HttpResponse> http_call(const HttpEndpoint& endpoint, const HttpRequest& request,
                               std::chrono::milliseconds timeout,
                               std::size_t response_limit = kDefaultResponseLimit,
                               CallInterrupter* interrupter = nullptr);

// Takes a streamed body's bytes as they arrive; false ends the call (it fails as `cancelled`).
using BodySink = std::function<bool(std::string_view chunk)>;

// Like http_call, for answers that go on for long (an image pull's progress): a 2xx body is
// handed to `sink` as it arrives and not kept; any other status's body is kept (at most 1
// MiB), as it says what went wrong. `idle_timeout` bounds each wait for more bytes, not the
// whole call: the sink decides how long is too long.
Result<HttpResponse> http_stream(const HttpEndpoint& endpoint, const HttpRequest& request,
                                 std::chrono::milliseconds idle_timeout, const BodySink& sink,
                                 CallInterrupter* interrupter = nullptr);

// A connection kept open from one call to the next (HTTP/1.1 keep-alive), for a client that
// calls one server over and over — an agent's syncs — so that a call costs no TCP or TLS
// handshake. Opens the connection on the first call and again after any failure; a kept
// connection the server has closed meanwhile is retried once on a new one, so use it only for
// requests that are safe to send twice. One call at a time.
class HttpConnection {
 public:
  explicit HttpConnection(HttpEndpoint endpoint);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  Result<HttpResponse> call(const HttpRequest& request, std::chrono::milliseconds timeout,
                            std::size_t response_limit = kDefaultResponseLimit,
                            CallInterrupter* interrupter = nullptr);
  // How many connections calls have opened so far (the first one included).
  long connections_opened() const { return connections_opened_; }

 private:
  HttpEndpoint endpoint_;
  std::unique_ptr<Transport> transport_;
  long connections_opened_ = 0;
};

}  // namespace gpupool::net
