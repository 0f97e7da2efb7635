#include "net/http_client.hpp"

#include <strings.h>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "net/http_transport.hpp"

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

namespace {

http::request<http::string_body> request_message(const HttpEndpoint& endpoint,
                                                 const HttpRequest& request, bool keep_alive) {
  http::request<http::string_body> message;
  message.method_string(request.method);
  message.target(request.target);
  message.version(11);
  message.set(http::field::host, endpoint.host);
  if (!keep_alive) message.set(http::field::connection, "close");
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

// How a call left its connection.
struct Aftermath {
  bool reusable = false;  // the whole response read, and the server keeps the connection open
  bool stale = false;     // closed by the server before a byte of the response came back
};

// The server closed a kept connection (idle for its taste) before this request reached it.
bool closed_under_us(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}

// Writes the request and reads the response on an already connected socket. Without a sink,
// all of it within `timeout`; with one, each step within it and a 2xx body streamed to it.
template <typename Socket>
Result<HttpResponse> exchange(asio::io_context& io, Socket& socket, const HttpEndpoint& endpoint,
                              const HttpRequest& request, std::chrono::milliseconds timeout,
                              std::size_t response_limit, const BodySink* sink,
                              const InterruptibleCall& call, bool keep_alive,
                              Aftermath& aftermath) {
  auto message = request_message(endpoint, request, keep_alive);
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
    if (auto error = run_step(io, done, failure, request, timeout, call)) {
      aftermath.stale = done && closed_under_us(failure) && !parser.got_some();
      return *error;
    }
    aftermath.reusable = keep_alive && parser.get().keep_alive();
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

Result<HttpResponse> exchange_on(Transport& transport, const HttpEndpoint& endpoint,
                                 const HttpRequest& request, std::chrono::milliseconds timeout,
                                 std::size_t response_limit, const BodySink* sink,
                                 const InterruptibleCall& call, bool keep_alive,
                                 Aftermath& aftermath) {
  return transport.with_socket([&](auto& socket) {
    return exchange(transport.io, socket, endpoint, request, timeout, response_limit, sink, call,
                    keep_alive, aftermath);
  });
}

Result<HttpResponse> perform(const HttpEndpoint& endpoint, const HttpRequest& request,
                             std::chrono::milliseconds timeout, std::size_t response_limit,
                             const BodySink* sink, CallInterrupter* interrupter) {
  Transport transport;
  InterruptibleCall call(interrupter, transport.io);
  if (auto error = open_transport(transport, endpoint, request, timeout, call)) return *error;
  Aftermath aftermath;
  return exchange_on(transport, endpoint, request, timeout, response_limit, sink, call, false,
                     aftermath);
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

HttpConnection::HttpConnection(HttpEndpoint endpoint) : endpoint_(std::move(endpoint)) {}

HttpConnection::~HttpConnection() = default;

Result<HttpResponse> HttpConnection::call(const HttpRequest& request,
                                          std::chrono::milliseconds timeout,
                                          std::size_t response_limit,
                                          CallInterrupter* interrupter) {
  for (int attempt = 0;; ++attempt) {
    bool reused = transport_ != nullptr;
    if (!reused) transport_ = std::make_unique<Transport>();
    InterruptibleCall call(interrupter, transport_->io);
    if (!reused) {
      if (auto error = open_transport(*transport_, endpoint_, request, timeout, call)) {
        transport_.reset();
        return *error;
      }
      ++connections_opened_;
    }
    Aftermath aftermath;
    auto response = exchange_on(*transport_, endpoint_, request, timeout, response_limit, nullptr,
                                call, true, aftermath);
    if (!aftermath.reusable) transport_.reset();
    // A kept connection the server had let go: the request never reached it, so one more try
    // on a new connection is safe.
    if (!response && reused && aftermath.stale && attempt == 0) continue;
    return response;
  }
}

}  // namespace gpupool::net
