#include "net/http_client.hpp"

#include <strings.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "net/certificate_pin_detail.hpp"

namespace gpupool::net {

namespace asio = boost::asio;
namespace http = boost::beast::http;

std::string url_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}
using boost::system::error_code;

Result<HttpEndpoint> parse_http_endpoint(const std::string& address) {
  HttpEndpoint endpoint;
  if (address.starts_with("unix://")) {
    endpoint.is_unix = true;
    endpoint.socket_path = address.substr(7);
    endpoint.host = "localhost";
    if (endpoint.socket_path.empty()) {
      return make_error(ErrorCode::invalid_argument, "unix:// address needs a socket path");
    }
    return endpoint;
  }
  std::string rest = address;
  if (rest.starts_with("http://")) rest = rest.substr(7);
  if (rest.starts_with("https://")) {
    rest = rest.substr(8);
    endpoint.tls = true;
    endpoint.port = 443;
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  auto colon = rest.rfind(':');
  if (colon == std::string::npos) {
    endpoint.host = rest;
  } else {
    endpoint.host = rest.substr(0, colon);
    unsigned port = 0;
    auto digits = std::string_view(rest).substr(colon + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535) {
      return make_error(ErrorCode::invalid_argument, fmt::format("bad port in \"{}\"", address));
    }
    endpoint.port = static_cast<std::uint16_t>(port);
  }
  if (endpoint.host.empty()) {
    return make_error(ErrorCode::invalid_argument, fmt::format("no host in \"{}\"", address));
  }
  return endpoint;
}

std::string HttpResponse::header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (strcasecmp(key.c_str(), name.c_str()) == 0) return value;
  }
  return {};
}

void CallInterrupter::interrupt() {
  std::lock_guard lock(mutex_);
  interrupted_ = true;
  if (call_ != nullptr) call_->stop();
}

void CallInterrupter::clear() {
  std::lock_guard lock(mutex_);
  interrupted_ = false;
}

// One call's tie to its CallInterrupter (if any): while it lives, interrupt() stops the call's
// io_context, which makes every run_for() return at once.
class InterruptibleCall {
 public:
  InterruptibleCall(CallInterrupter* interrupter, asio::io_context& io)
      : interrupter_(interrupter) {
    if (interrupter_ == nullptr) return;
    std::lock_guard lock(interrupter_->mutex_);
    interrupter_->call_ = &io;
    if (interrupter_->interrupted_) io.stop();
  }
  ~InterruptibleCall() {
    if (interrupter_ == nullptr) return;
    std::lock_guard lock(interrupter_->mutex_);
    interrupter_->call_ = nullptr;
  }
  InterruptibleCall(const InterruptibleCall&) = delete;
  InterruptibleCall& operator=(const InterruptibleCall&) = delete;

  // Readies the io_context for the call's next step; an interrupt that came meanwhile holds.
  void restart(asio::io_context& io) const {
    if (interrupter_ == nullptr) return io.restart();
    std::lock_guard lock(interrupter_->mutex_);
    io.restart();
    if (interrupter_->interrupted_) io.stop();
  }
  bool interrupted() const {
    if (interrupter_ == nullptr) return false;
    std::lock_guard lock(interrupter_->mutex_);
    return interrupter_->interrupted_;
  }
  Error error(const HttpRequest& request) const {
    return make_error(ErrorCode::unavailable,
                      fmt::format("{} {}: interrupted", request.method, request.target));
  }

 private:
  CallInterrupter* interrupter_;
};

namespace {

http::request<http::string_body> request_message(const HttpEndpoint& endpoint,
                                                 const HttpRequest& request) {
  http::request<http::string_body> message;
  message.method_string(request.method);
  message.target(request.target);
  message.version(11);
  message.set(http::field::host, endpoint.host);
  message.set(http::field::connection, "close");
  for (const auto& [key, value] : request.headers) message.set(key, value);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    if (message[http::field::content_type].empty()) {
      message.set(http::field::content_type, "application/json");
    }
    message.body() = request.body;
    message.prepare_payload();
  }
  return message;
}

HttpResponse response_of(http::response<http::string_body>& reply) {
  HttpResponse response;
  response.status = static_cast<int>(reply.result_int());
  response.body = std::move(reply.body());
  for (const auto& field : reply) {
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return response;
}

Error call_failed(const HttpRequest& request, const std::string& why) {
  return make_error(ErrorCode::unavailable,
                    fmt::format("{} {}: {}", request.method, request.target, why));
}

// Runs the io_context until `done`, at most `timeout`; the error that stopped it, if any.
std::optional<Error> run_step(asio::io_context& io, const bool& done, const error_code& failure,
                              const HttpRequest& request, std::chrono::milliseconds timeout,
                              const InterruptibleCall& call) {
  call.restart(io);
  io.run_for(timeout);
  if (call.interrupted()) return call.error(request);
  if (!done) return call_failed(request, fmt::format("timed out after {} ms", timeout.count()));
  if (failure) return call_failed(request, failure.message());
  return std::nullopt;
}

constexpr std::size_t kStreamErrorBodyLimit = 1024 * 1024;

// Writes the request and reads the response on an already connected socket. Without a sink,
// all of it within `timeout`; with one, each step within it and a 2xx body streamed to it.
template <typename Socket>
Result<HttpResponse> exchange(asio::io_context& io, Socket& socket, const HttpEndpoint& endpoint,
                              const HttpRequest& request, std::chrono::milliseconds timeout,
                              std::size_t response_limit, const BodySink* sink,
                              const InterruptibleCall& call) {
  auto message = request_message(endpoint, request);
  error_code failure;
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.skip(request.method == "HEAD");  // its Content-Length describes a body never sent
  bool done = false;
  if (sink == nullptr) {
    parser.body_limit(response_limit);
    http::async_write(socket, message, [&](error_code ec, std::size_t) {
      if (ec) {
        failure = ec;
        done = true;
        return;
      }
      http::async_read(socket, buffer, parser, [&](error_code read_ec, std::size_t) {
        failure = read_ec;
        done = true;
      });
    });
    if (auto error = run_step(io, done, failure, request, timeout, call)) return *error;
    return response_of(parser.get());
  }

  auto finish_step = [&](error_code ec, std::size_t) {
    failure = ec;
    done = true;
  };
  http::async_write(socket, message, finish_step);
  if (auto error = run_step(io, done, failure, request, timeout, call)) return *error;
  done = false;
  http::async_read_header(socket, buffer, parser, finish_step);
  if (auto error = run_step(io, done, failure, request, timeout, call)) return *error;
  bool streamed = parser.get().result_int() / 100 == 2;
  parser.body_limit(streamed ? boost::optional<std::uint64_t>() : kStreamErrorBodyLimit);
  while (!parser.is_done()) {
    done = false;
    http::async_read_some(socket, buffer, parser, finish_step);
    if (auto error = run_step(io, done, failure, request, timeout, call)) return *error;
    auto& body = parser.get().body();
    if (streamed && !body.empty()) {
      if (!(*sink)(body)) return call_failed(request, "cancelled");
      body.clear();
    }
  }
  return response_of(parser.get());
}

}  // namespace

namespace {

Result<HttpResponse> perform(const HttpEndpoint& endpoint, const HttpRequest& request,
                             std::chrono::milliseconds timeout, std::size_t response_limit,
                             const BodySink* sink, CallInterrupter* interrupter) {
  asio::io_context io;
  InterruptibleCall call(interrupter, io);
  if (call.interrupted()) return call.error(request);
  error_code ec;
  if (endpoint.is_unix) {
    asio::local::stream_protocol::socket socket(io);
    socket.connect(asio::local::stream_protocol::endpoint(endpoint.socket_path), ec);
    if (ec) {
      return make_error(ErrorCode::unavailable, fmt::format("cannot connect to {}: {}",
                                                            endpoint.socket_path, ec.message()));
    }
    return exchange(io, socket, endpoint, request, timeout, response_limit, sink, call);
  }
  asio::ip::tcp::resolver resolver(io);
  auto addresses = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
  if (ec) {
    return make_error(ErrorCode::unavailable,
                      fmt::format("cannot resolve {}: {}", endpoint.host, ec.message()));
  }
  asio::ip::tcp::socket socket(io);
  // Bounded like the rest of the call: a peer that drops SYNs would otherwise hold a blocking
  // connect for the kernel's minutes of retries.
  bool connected = false;
  asio::async_connect(socket, addresses, [&](error_code connect_ec, const auto&) {
    ec = connect_ec;
    connected = true;
  });
  io.run_for(timeout);
  if (call.interrupted()) return call.error(request);
  call.restart(io);
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
  if (!endpoint.tls)
    return exchange(io, socket, endpoint, request, timeout, response_limit, sink, call);

  asio::ssl::context context(asio::ssl::context::tls_client);
  context.set_default_verify_paths(ec);
  if (const char* ca_file = std::getenv("GPUPOOL_CA_FILE"); ca_file != nullptr && *ca_file) {
    context.load_verify_file(ca_file, ec);
    if (ec) {
      return make_error(ErrorCode::invalid_argument,
                        fmt::format("GPUPOOL_CA_FILE {}: {}", ca_file, ec.message()));
    }
  }
  context.set_verify_mode(asio::ssl::verify_peer);
  bool pin_matched = false;
  if (endpoint.pin.empty()) {
    context.set_verify_callback(asio::ssl::host_name_verification(endpoint.host));
  } else {
    // Every certificate of the chain passes here; the handshake is judged by the pin below.
    context.set_verify_callback([&](bool, asio::ssl::verify_context& verify) {
      X509* certificate = X509_STORE_CTX_get_current_cert(verify.native_handle());
      if (certificate != nullptr && public_key_pin(certificate) == endpoint.pin) pin_matched = true;
      return true;
    });
  }
  asio::ssl::stream<asio::ip::tcp::socket> stream(std::move(socket), context);
  SSL_set_tlsext_host_name(stream.native_handle(), endpoint.host.c_str());
  bool shaken = false;
  stream.async_handshake(asio::ssl::stream_base::client, [&](error_code handshake_ec) {
    ec = handshake_ec;
    shaken = true;
  });
  io.run_for(timeout);
  if (call.interrupted()) return call.error(request);
  call.restart(io);
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
  if (!endpoint.pin.empty() && !pin_matched) {
    return make_error(ErrorCode::unauthorized,
                      fmt::format("{}:{} presented a certificate that does not match the pin {}: "
                                  "is this the right server?",
                                  endpoint.host, endpoint.port, endpoint.pin));
  }
  return exchange(io, stream, endpoint, request, timeout, response_limit, sink, call);
}

}  // namespace

Result<HttpResponse> http_call(const HttpEndpoint& endpoint, const HttpRequest& request,
                               std::chrono::milliseconds timeout, std::size_t response_limit,
                               CallInterrupter* interrupter) {
  return perform(endpoint, request, timeout, response_limit, nullptr, interrupter);
}

Result<HttpResponse> http_stream(const HttpEndpoint& endpoint, const HttpRequest& request,
                                 std::chrono::milliseconds idle_timeout, const BodySink& sink,
                                 CallInterrupter* interrupter) {
  return perform(endpoint, request, idle_timeout, kDefaultResponseLimit, &sink, interrupter);
}

}  // namespace gpupool::net
