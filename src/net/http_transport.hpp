// The connection under an HTTP call (http_client.cpp): a unix socket, TCP or TLS over TCP,
// the io_context that drives it, and the tie to a CallInterrupter. Internal to gpupool_net.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "net/http_client.hpp"

namespace gpupool::net {

// One call's tie to its CallInterrupter (if any): while it lives, interrupt() stops the call's
// io_context, which makes every run_for() return at once.
class InterruptibleCall {
 public:
  InterruptibleCall(CallInterrupter* interrupter, boost::asio::io_context& io);
  ~InterruptibleCall();
  InterruptibleCall(const InterruptibleCall&) = delete;
  InterruptibleCall& operator=(const InterruptibleCall&) = delete;

  // Readies the io_context for the call's next step; an interrupt that came meanwhile holds.
  void restart(boost::asio::io_context& io) const;
  bool interrupted() const;
  Error error(const HttpRequest& request) const;

 private:
  CallInterrupter* interrupter_;
};

// A connected socket of one of three kinds. Handlers of a call that failed may still be
// queued on `io` and point at that call's stack: a failed Transport is thrown away, never run
// again.
struct Transport {
  boost::asio::io_context io;
  std::optional<boost::asio::local::stream_protocol::socket> unix_socket;
  std::optional<boost::asio::ip::tcp::socket> tcp;
  std::optional<boost::asio::ssl::context> tls_context;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls;
  bool pin_matched = false;  // set by the handshake's verify callback

  // Calls `use` with whichever socket is connected.
  template <typename Use>
  auto with_socket(Use&& use) {
    if (tls) return use(*tls);
    if (tcp) return use(*tcp);
    return use(*unix_socket);
  }
};

// Connects `transport` (fresh) to `endpoint`, TLS handshake and pin check included, each step
// within `timeout`. `request` only names the call in errors.
std::optional<Error> open_transport(Transport& transport, const HttpEndpoint& endpoint,
                                    const HttpRequest& request, std::chrono::milliseconds timeout,
                                    const InterruptibleCall& call);

}  // namespace gpupool::net
