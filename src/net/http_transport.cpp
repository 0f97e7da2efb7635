#include "net/http_transport.hpp"

#include <boost/asio/connect.hpp>
#include <cstdlib>

#include <fmt/format.h>

#include "net/certificate_pin_detail.hpp"

namespace gpupool::net {

namespace asio = boost::asio;
using boost::system::error_code;

InterruptibleCall::InterruptibleCall(CallInterrupter* interrupter, asio::io_context& io)
    : interrupter_(interrupter) {
  if (interrupter_ == nullptr) return;
  std::lock_guard lock(interrupter_->mutex_);
  interrupter_->call_ = &io;
  if (interrupter_->interrupted_) io.stop();
}

InterruptibleCall::~InterruptibleCall() {
  if (interrupter_ == nullptr) return;
  std::lock_guard lock(interrupter_->mutex_);
  interrupter_->call_ = nullptr;
}

void InterruptibleCall::restart(asio::io_context& io) const {
  if (interrupter_ == nullptr) return io.restart();
  std::lock_guard lock(interrupter_->mutex_);
  io.restart();
  if (interrupter_->interrupted_) io.stop();
}

bool InterruptibleCall::interrupted() const {
  if (interrupter_ == nullptr) return false;
  std::lock_guard lock(interrupter_->mutex_);
  return interrupter_->interrupted_;
}

Error InterruptibleCall::error(const HttpRequest& request) const {
  return make_error(ErrorCode::unavailable,
                    fmt::format("{} {}: interrupted", request.method, request.target));
}

namespace {

std::optional<Error> connect_tcp(Transport& transport, const HttpEndpoint& endpoint,
                                 std::chrono::milliseconds timeout, const InterruptibleCall& call,
                                 const HttpRequest& request) {
  error_code ec;
  asio::ip::tcp::resolver resolver(transport.io);
  auto addresses = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
  if (ec) {
    return make_error(ErrorCode::unavailable,
                      fmt::format("cannot resolve {}: {}", endpoint.host, ec.message()));
  }
  transport.tcp.emplace(transport.io);
  // Bounded like the rest of the call: a peer that drops SYNs would otherwise hold a blocking
  // connect for the kernel's minutes of retries.
  bool connected = false;
  asio::async_connect(*transport.tcp, addresses, [&](error_code connect_ec, const auto&) {
    ec = connect_ec;
    connected = true;
  });
  transport.io.run_for(timeout);
  if (call.interrupted()) return call.error(request);
  call.restart(transport.io);
  if (!connected) {
    return make_error(ErrorCode::unavailable,
                      fmt::format("connecting to {}:{} timed out after {} ms", endpoint.host,
                                  endpoint.port, timeout.count()));
  }
  if (ec) {
    return make_error(
        ErrorCode::unavailable,
        fmt::format("cannot connect to {}:{}: {}", endpoint.host, endpoint.port, ec.message()));
  }
  return std::nullopt;
}

std::optional<Error> shake_hands(Transport& transport, const HttpEndpoint& endpoint,
                                 std::chrono::milliseconds timeout, const InterruptibleCall& call,
                                 const HttpRequest& request) {
  error_code ec;
  auto& context = transport.tls_context.emplace(asio::ssl::context::tls_client);
  // Loading the system's CAs costs milliseconds of CPU per connection; a pin needs none.
  if (endpoint.pin.empty()) context.set_default_verify_paths(ec);
  if (const char* ca_file = std::getenv("GPUPOOL_CA_FILE"); ca_file != nullptr && *ca_file) {
    context.load_verify_file(ca_file, ec);
    if (ec) {
      return make_error(ErrorCode::invalid_argument,
                        fmt::format("GPUPOOL_CA_FILE {}: {}", ca_file, ec.message()));
    }
  }
  if (!endpoint.ca_file.empty()) {
    context.load_verify_file(endpoint.ca_file, ec);
    if (ec) {
      return make_error(ErrorCode::invalid_argument,
                        fmt::format("CA file {}: {}", endpoint.ca_file, ec.message()));
    }
  }
  context.set_verify_mode(asio::ssl::verify_peer);
  if (endpoint.pin.empty()) {
    context.set_verify_callback(asio::ssl::host_name_verification(endpoint.host));
  } else {
    // Every certificate of the chain passes here; the handshake is judged by the pin below.
    context.set_verify_callback(
        [&transport, pin = endpoint.pin](bool, asio::ssl::verify_context& verify) {
          X509* certificate = X509_STORE_CTX_get_current_cert(verify.native_handle());
          if (certificate != nullptr && public_key_pin(certificate) == pin)
            transport.pin_matched = true;
          return true;
        });
  }
  auto& stream = transport.tls.emplace(std::move(*transport.tcp), context);
  transport.tcp.reset();
  SSL_set_tlsext_host_name(stream.native_handle(), endpoint.host.c_str());
  bool shaken = false;
  stream.async_handshake(asio::ssl::stream_base::client, [&](error_code handshake_ec) {
    ec = handshake_ec;
    shaken = true;
  });
  transport.io.run_for(timeout);
  if (call.interrupted()) return call.error(request);
  call.restart(transport.io);
  if (!shaken) {
    return make_error(ErrorCode::unavailable,
                      fmt::format("TLS with {}:{} timed out", endpoint.host, endpoint.port));
  }
  if (ec) {
    return make_error(ErrorCode::unavailable,
                      fmt::format("TLS with {}:{} failed: {} (is its certificate trusted? "
                                  "GPUPOOL_CA_FILE names a CA file to trust)",
                                  endpoint.host, endpoint.port, ec.message()));
  }
  if (!endpoint.pin.empty() && !transport.pin_matched) {
    return make_error(ErrorCode::unauthorized,
                      fmt::format("{}:{} presented a certificate that does not match the pin {}: "
                                  "is this the right server?",
                                  endpoint.host, endpoint.port, endpoint.pin));
  }
  return std::nullopt;
}

}  // namespace

std::optional<Error> open_transport(Transport& transport, const HttpEndpoint& endpoint,
                                    const HttpRequest& request, std::chrono::milliseconds timeout,
                                    const InterruptibleCall& call) {
  if (call.interrupted()) return call.error(request);
  if (endpoint.is_unix) {
    error_code ec;
    transport.unix_socket.emplace(transport.io);
    transport.unix_socket->connect(asio::local::stream_protocol::endpoint(endpoint.socket_path),
                                   ec);
    if (ec) {
      return make_error(ErrorCode::unavailable, fmt::format("cannot connect to {}: {}",
                                                            endpoint.socket_path, ec.message()));
    }
    return std::nullopt;
  }
  if (auto error = connect_tcp(transport, endpoint, timeout, call, request)) return error;
  if (!endpoint.tls) return std::nullopt;
  return shake_hands(transport, endpoint, timeout, call, request);
}

}  // namespace gpupool::net
