#include "gateway/http_server.hpp"

#include <strings.h>

#include <map>
#include <mutex>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <thread>

#include <fmt/format.h>

#include "core/log.hpp"
#include "gateway/header_block.hpp"
#include "gateway/http_proxy.hpp"

namespace gpupool::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

std::string HttpExchange::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), name.size()) == 0)
      return value;
  }
  return {};
}

std::string HttpExchange::header_list(std::string_view name) const {
  std::string joined;
  for (const auto& [key, value] : headers) {
    if (key.size() != name.size() || strncasecmp(key.data(), name.data(), name.size()) != 0)
      continue;
    if (!joined.empty()) joined += ", ";
    joined += value;
  }
  return joined;
}

namespace {

template <class Body>
void set_reply_headers(http::response<Body>& response, const HttpReply& reply, bool tls) {
  response.set(http::field::server, "gpupool");
  // Under TLS, browsers are told to never use plain HTTP here again.
  if (tls) response.set(http::field::strict_transport_security, "max-age=31536000");
  response.set(http::field::content_type, reply.content_type);
  response.set("X-Content-Type-Options", "nosniff");
  response.set(http::field::cache_control, "no-store");
  for (const auto& [key, value] : reply.headers) response.insert(key, value);
}

http::response<http::string_body> to_beast(const HttpReply& reply, unsigned version,
                                           bool keep_alive, bool tls) {
  http::response<http::string_body> response{static_cast<http::status>(reply.status), version};
  set_reply_headers(response, reply, tls);
  response.body() = reply.body;
  response.keep_alive(keep_alive);
  response.prepare_payload();
  return response;
}

HttpReply plain_error(int status, std::string_view code, std::string_view message) {
  HttpReply reply;
  reply.status = status;
  reply.body = fmt::format(R"({{"error":{{"code":"{}","message":"{}"}}}})", code, message);
  return reply;
}

// What a drain asks of each open connection (from any thread).
class Drainable {
 public:
  virtual ~Drainable() = default;
  // Finish the request under way, if any, then close; close at once if none is.
  virtual void drain() = 0;
};

// The connections a server holds, so that a drain reaches each. Thread-safe.
class LiveConnections {
 public:
  void add(const std::shared_ptr<Drainable>& connection) {
    std::lock_guard lock(mutex_);
    live_[connection.get()] = connection;
  }
  void remove(const Drainable* connection) {
    std::lock_guard lock(mutex_);
    live_.erase(connection);
  }
  void drain_all() {
    std::vector<std::shared_ptr<Drainable>> open;
    {
      std::lock_guard lock(mutex_);
      for (auto& [key, weak] : live_) {
        if (auto connection = weak.lock()) open.push_back(std::move(connection));
      }
    }
    for (auto& connection : open) connection->drain();
  }

 private:
  std::mutex mutex_;
  std::map<const Drainable*, std::weak_ptr<Drainable>> live_;
};

// One client connection; Stream is beast::tcp_stream, or TlsStream under TLS.
template <class Stream>
class Connection : public Drainable, public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Connection(Stream stream, Admission admission, LiveConnections& live, const ServerLimits& limits,
             const HttpHandler& handler, asio::thread_pool& handler_threads,
             const ProxyRouter& proxy, TunnelRegistry* tunnels)
      : stream_(std::move(stream)),
        admission_(std::move(admission)),
        live_(live),
        limits_(limits),
        handler_(handler),
        handler_threads_(handler_threads),
        proxy_(proxy),
        tunnels_(tunnels),
        stream_timer_(stream_.get_executor()) {
    // Read once: every request on the connection comes from and to the same addresses.
    beast::error_code ec;
    auto& socket = beast::get_lowest_layer(stream_).socket();
    auto remote = socket.remote_endpoint(ec);
    if (!ec) remote_address_ = remote.address().to_string();
    auto local = socket.local_endpoint(ec);
    if (!ec) local_port_ = local.port();
  }

  ~Connection() override { live_.remove(this); }

  void drain() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->draining_ = true;
      if (self->reply_stream_) return self->end_stream();
      if (self->pending_) {  // answer the held request now
        self->stream_timer_.cancel();
        return;
      }
      if (!self->request_begun_) self->close();  // waiting for a request that need not come
    });
  }

  void start() {
    live_.add(this->shared_from_this());
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        beast::get_lowest_layer(self->stream_).expires_after(self->limits_.request_time);
        self->stream_.async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) {
            spdlog::debug("http: TLS handshake with {} failed: {}", self->remote_address_,
                          ec.message());
            return self->close();
          }
          self->read();
        });
      } else {
        self->read();
      }
    });
  }

 private:
  void read() {
    if (draining_) return close();
    parser_.emplace();
    // The parser would check Content-Length against a limit as the header ends: on_header
    // sets one for requests the gateway reads itself; the proxy streams what it is let in.
    parser_->body_limit(boost::none);
    parser_->header_limit(kMaxRequestHeaders);
    // Waiting for a request is idle time; once its first byte is in, it has request_time
    // to arrive whole, however slowly it trickles.
    request_begun_ = buffer_.size() != 0;
    beast::get_lowest_layer(stream_).expires_after(request_begun_ ? limits_.request_time
                                                                  : limits_.idle_time);
    read_header_block();
  }

  // The whole header block first, to look at it as sent; then Beast parses it from the
  // buffer without reading more. A pipelined request may be in the buffer already.
  void read_header_block() {
    std::string_view seen(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    std::size_t length = header_block_length(seen);
    if (length == 0 && seen.size() < kMaxRequestHeaders) {
      return stream_.async_read_some(
          buffer_.prepare(4096),
          [self = this->shared_from_this()](beast::error_code ec, std::size_t read) {
            if (ec) return self->on_read(ec == asio::error::eof ? http::error::end_of_stream : ec);
            self->buffer_.commit(read);
            if (!self->request_begun_) {
              self->request_begun_ = true;
              beast::get_lowest_layer(self->stream_).expires_after(self->limits_.request_time);
            }
            self->read_header_block();
          });
    }
    if (ends_in_fold(seen.substr(0, length))) return on_read(http::error::bad_obs_fold);
    // Beast parses and judges the rest (a bare LF, a header block over the limit).
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  // A proxied request is decided on from its header; anything else is read whole, up to 1 MiB.
  void on_header(beast::error_code ec) {
    if (ec) return on_read(ec);
    if (is_proxied(parser_->get().target())) return route_proxied();
    auto length = parser_->content_length();
    if (length && *length > kMaxRequestBody) return on_read(http::error::body_limit);
    parser_->body_limit(kMaxRequestBody);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }

  bool is_proxied(std::string_view target) const {
    return proxy_ && tunnels_ != nullptr && (target.starts_with("/s/") || target == "/s");
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      return close();
    }
    if (ec == http::error::body_limit) {
      return reply_and_close(plain_error(413, "payload_too_large", "request body is over 1 MiB"));
    }
    if (ec == http::error::header_limit) {
      return reply_and_close(
          plain_error(431, "invalid_argument", "request headers are over 16 KiB"));
    }
    if (ec) return reply_and_close(plain_error(400, "invalid_argument", "malformed HTTP request"));

    auto& request = parser_->get();
    auto exchange = std::make_shared<HttpExchange>(exchange_of(request));
    exchange->body = std::move(request.body());
    // A handler may wait (for the database's lock, a password hash): on a thread of the
    // handlers' own, never on the one serving this connection's neighbours.
    asio::post(handler_threads_, [self = this->shared_from_this(), exchange] {
      auto reply = std::make_shared<HttpReply>(self->run_handler(*exchange));
      asio::post(self->stream_.get_executor(), [self, reply] { self->send_reply(*reply); });
    });
  }

  HttpReply run_handler(const HttpExchange& exchange) const {
    try {
      return handler_(exchange);
    } catch (const std::exception& error) {
      // A handler bug must not take the gateway down for everyone else.
      spdlog::error("handler for {} {} threw: {}", exchange.method, exchange.path, error.what());
      return plain_error(500, "internal", "internal error");
    }
  }

  void send_reply(const HttpReply& reply) {
    const auto& request = parser_->get();
    if (reply.pending) return hold(reply.pending);
    if (reply.stream) return start_stream(reply, request.version());
    write(to_beast(reply, request.version(), request.keep_alive(), kTls));
  }

  HttpExchange exchange_of(const http::request<http::string_body>& request) const {
    HttpExchange exchange;
    exchange.method = std::string(request.method_string());
    exchange.target = std::string(request.target());
    auto question = exchange.target.find('?');
    exchange.path = exchange.target.substr(0, question);
    if (question != std::string::npos) exchange.query = exchange.target.substr(question + 1);
    for (const auto& field : request) {
      exchange.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    exchange.remote_address = remote_address_;
    exchange.local_port = local_port_;
    return exchange;
  }

  // Who may reach which session is known from the header alone: a refused caller's body is
  // never read (the connection closes instead), an allowed one's streams through the relay.
  void route_proxied() {
    auto& request = parser_->get();
    HttpExchange exchange = exchange_of(request);
    ProxyDecision decision;
    try {
      decision = proxy_(exchange);
    } catch (const std::exception& error) {
      spdlog::error("proxy route for {} {} threw: {}", exchange.method, exchange.path,
                    error.what());
      decision.reply = plain_error(500, "internal", "internal error");
    }
    if (!decision.reply) return start_relay(std::move(decision));
    bool unread_body = parser_->chunked() || parser_->content_length().value_or(0) > 0;
    write(to_beast(*decision.reply, request.version(), request.keep_alive() && !unread_body, kTls));
  }

  // A streamed reply: the headers, then whatever the ReplyStream hands out, until it or the
  // client ends. The body runs until the connection closes (no length, no keep-alive).
  void start_stream(const HttpReply& reply, unsigned version) {
    auto header = std::make_shared<http::response<http::empty_body>>(
        static_cast<http::status>(reply.status), version);
    set_reply_headers(*header, reply, kTls);
    header->keep_alive(false);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*header);
    reply_stream_ = reply.stream;
    beast::get_lowest_layer(stream_).expires_after(30s);
    http::async_write_header(
        stream_, *serializer,
        [self = this->shared_from_this(), header, serializer](beast::error_code ec, std::size_t) {
          if (ec) return self->end_stream();
          beast::get_lowest_layer(self->stream_).expires_never();
          self->watch_for_hang_up();
          self->next_piece();
        });
  }

  // A pending reply: no thread waits; the timer ends the wait when it passes or when the reply
  // says it is ready (cancelling it), and the reply is made on a handler thread.
  void hold(std::shared_ptr<PendingReply> pending) {
    pending_ = std::move(pending);
    beast::get_lowest_layer(stream_).expires_never();
    stream_timer_.expires_after(draining_ ? std::chrono::milliseconds(0) : pending_->wait());
    std::weak_ptr<Connection> weak = this->shared_from_this();
    pending_->start([weak] {
      if (auto self = weak.lock()) {
        asio::post(self->stream_.get_executor(), [self] { self->stream_timer_.cancel(); });
      }
    });
    stream_timer_.async_wait([self = this->shared_from_this()](beast::error_code) {
      if (self->stream_ended_) return;  // the client left while it was held
      asio::post(self->handler_threads_, [self, pending = self->pending_] {
        HttpReply made;
        try {
          made = pending->reply();
        } catch (const std::exception& error) {
          spdlog::error("held reply failed: {}", error.what());
          made = plain_error(500, "internal", "internal error");
        }
        auto reply = std::make_shared<HttpReply>(std::move(made));
        asio::post(self->stream_.get_executor(), [self, reply] {
          self->pending_.reset();
          if (self->stream_ended_ || reply->pending || reply->stream) return self->close();
          // Kept alive like any other reply (an agent long-polls on one connection): the watch
          // for a hang-up gives way to reading the next request once this reply is written.
          bool keep_alive = self->parser_->get().keep_alive() && !self->draining_;
          if (keep_alive) self->stop_watching_for_hang_up();
          self->write(to_beast(*reply, self->parser_->get().version(), keep_alive, kTls));
        });
      });
    });
    watch_for_hang_up();
  }

  // The client sends nothing on an event stream or while its request is held; anything, or
  // the end, ends it.
  void watch_for_hang_up() {
    buffer_.consume(buffer_.size());
    watching_for_hang_up_ = true;
    stream_.async_read_some(buffer_.prepare(1024),
                            [self = this->shared_from_this()](beast::error_code, std::size_t) {
                              if (!self->watching_for_hang_up_) return;  // stopped on purpose
                              self->watching_for_hang_up_ = false;
                              self->end_stream();
                            });
  }

  // A client waiting for its held reply sends nothing, so no byte of its next request is lost.
  void stop_watching_for_hang_up() {
    watching_for_hang_up_ = false;
    beast::get_lowest_layer(stream_).cancel();
  }

  void next_piece() {
    stream_timer_.expires_after(reply_stream_->interval());
    stream_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->stream_ended_) return;
      std::optional<std::string> piece;
      try {
        piece = self->reply_stream_->next();
      } catch (const std::exception& error) {
        spdlog::error("event stream failed: {}", error.what());
      }
      if (!piece) return self->end_stream();
      if (piece->empty()) return self->next_piece();
      auto text = std::make_shared<std::string>(std::move(*piece));
      // A client that stops reading is dropped after 30 s instead of holding the stream.
      beast::get_lowest_layer(self->stream_).expires_after(30s);
      asio::async_write(self->stream_, asio::buffer(*text),
                        [self, text](beast::error_code ec, std::size_t) {
                          if (ec) return self->end_stream();
                          beast::get_lowest_layer(self->stream_).expires_never();
                          self->next_piece();
                        });
    });
  }

  void end_stream() {
    if (pending_) {  // a held request's client hung up: nothing to answer
      stream_ended_ = true;
      pending_.reset();
      stream_timer_.cancel();
      return close();
    }
    if (stream_ended_) return;
    stream_ended_ = true;
    stream_timer_.cancel();
    close();
  }

  void write(http::response<http::string_body> response) {
    auto shared = std::make_shared<http::response<http::string_body>>(std::move(response));
    bool keep_alive = shared->keep_alive();
    beast::get_lowest_layer(stream_).expires_after(30s);
    http::async_write(
        stream_, *shared,
        [self = this->shared_from_this(), shared, keep_alive](beast::error_code ec, std::size_t) {
          if (ec || !keep_alive || self->draining_) return self->close();
          self->read();
        });
  }

  void start_relay(ProxyDecision decision) {
    relay(stream_, buffer_, kept_upstream_, std::move(*parser_), std::move(decision), *tunnels_,
          [self = this->shared_from_this()](bool keep_alive) {
            if (keep_alive && !self->draining_) return self->read();
            self->close();
          });
  }

  void reply_and_close(const HttpReply& reply) { write(to_beast(reply, 11, false, kTls)); }

  void close() {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  Stream stream_;
  Admission admission_;  // this connection's place under the server's caps
  LiveConnections& live_;
  bool draining_ = false;  // the server is shutting down: no request after this one
  const ServerLimits& limits_;
  bool request_begun_ = false;  // a byte of the current request has arrived
  std::string remote_address_;
  std::uint16_t local_port_ = 0;
  beast::flat_buffer buffer_;
  KeptUpstream kept_upstream_;  // the proxy's upstream connection from the last request
  std::optional<http::request_parser<http::string_body>> parser_;
  const HttpHandler& handler_;
  asio::thread_pool& handler_threads_;
  const ProxyRouter& proxy_;
  TunnelRegistry* tunnels_;
  std::shared_ptr<ReplyStream> reply_stream_;  // while a streamed reply runs
  std::shared_ptr<PendingReply> pending_;      // while a reply is held
  asio::steady_timer stream_timer_;
  bool stream_ended_ = false;
  bool watching_for_hang_up_ = false;  // a read is out only to notice the client leaving
};

}  // namespace

// One io_context per thread, each run by that thread alone: a connection (and the proxy's
// upstream side of it) lives on one of them from accept to close, so its handlers need no
// strand and never hop between threads; new connections go to each in turn.
struct HttpServer::Impl {
  Impl(HttpHandler h, ProxyRouter p, TunnelRegistry* t)
      : handler(std::move(h)), proxy(std::move(p)), tunnels(t) {
    add_context();
  }

  static constexpr auto kOutOfDescriptorsPause = 250ms;
  static constexpr auto kAcceptErrorPause = 10ms;

  asio::io_context& add_context() {
    contexts.push_back(std::make_unique<asio::io_context>(1));  // 1: run by one thread
    // A context opens its epoll descriptors with its first socket; done lazily, that could
    // fall on a moment with none left, and the failure would be thrown out of run().
    tcp::socket opens_the_reactor(*contexts.back());
    return *contexts.back();
  }

  void connect(tcp::socket socket, Admission admission) {
    // Answers go out in several writes (headers, body pieces, WebSocket frames): without
    // this, Nagle's algorithm holds each small one back for the peer's delayed ACK.
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (tls) {
      std::make_shared<Connection<TlsStream>>(TlsStream(std::move(socket), *tls),
                                              std::move(admission), live, limits, handler,
                                              handler_threads, proxy, tunnels)
          ->start();
    } else {
      std::make_shared<Connection<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)),
                                                      std::move(admission), live, limits, handler,
                                                      handler_threads, proxy, tunnels)
          ->start();
    }
  }

  // Past a cap the connection is closed at once; a plain-HTTP client that reads before it
  // writes sees why. Nothing is read from it, so it cannot hold anything.
  void turn_away(tcp::socket& socket) {
    static constexpr std::string_view kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Retry-After: 5\r\nConnection: close\r\nContent-Length: 82\r\n\r\n"
        R"({"error":{"code":"unavailable","message":"too many connections; try again later"}})";
    beast::error_code ignored;
    if (!tls) {
      socket.non_blocking(true, ignored);
      socket.send(asio::buffer(kBusy), tcp::socket::message_flags(MSG_NOSIGNAL), ignored);
    }
    socket.close(ignored);
  }

  void admit(tcp::socket socket) {
    beast::error_code ec;
    auto peer = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    auto admission = gate->admit(peer.address().to_string());
    if (!admission) {
      if (turned_away++ % 1000 == 0)
        spdlog::warn("http: turned away a connection from {} (caps: {} open of {}, {} per source)",
                     peer.address().to_string(), gate->open(), limits.connections.total,
                     limits.connections.per_source);
      return turn_away(socket);
    }
    connect(std::move(socket), std::move(admission));
  }

  // Out of descriptors (or memory), accepting again at once would fail again at once: the
  // pending connection waits in the backlog while the process pauses, then is taken.
  void pause_then_accept(tcp::acceptor& acceptor, beast::error_code ec) {
    bool exhausted = ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
                     ec == asio::error::no_memory || ec.value() == ENFILE;
    if (exhausted && !out_of_descriptors) {
      spdlog::error("http: cannot accept: {}; pausing (open connections: {})", ec.message(),
                    gate->open());
    }
    out_of_descriptors = exhausted;
    auto& timer = accept_pauses[&acceptor];
    if (!timer) timer = std::make_unique<asio::steady_timer>(*contexts.front());
    timer->expires_after(exhausted ? kOutOfDescriptorsPause : kAcceptErrorPause);
    timer->async_wait([this, &acceptor](beast::error_code waited) {
      if (waited || !acceptor.is_open()) return;
      accept(acceptor);
    });
  }

  // Runs on the first context's thread only (the acceptors'), which alone touches `next`.
  void accept(tcp::acceptor& acceptor) {
    auto& context = *contexts[next++ % contexts.size()];
    acceptor.async_accept(context, [this, &acceptor](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (ec) return pause_then_accept(acceptor, ec);
      if (out_of_descriptors) {
        spdlog::info("http: accepting again (open connections: {})", gate->open());
        out_of_descriptors = false;
      }
      admit(std::move(socket));
      accept(acceptor);
    });
  }

  // Threads that run request handlers: enough for a few to wait on the database's lock
  // while the rest answer.
  static constexpr int kHandlerThreads = 16;

  HttpHandler handler;
  ProxyRouter proxy;
  TunnelRegistry* tunnels;
  ServerLimits limits;
  LiveConnections live;
  std::optional<ConnectionGate> gate;  // made from `limits` at start()
  std::size_t turned_away = 0;         // the acceptors' thread only, as the two below
  bool out_of_descriptors = false;
  std::optional<asio::ssl::context> tls;
  // After what connections refer to, before the contexts: a handler not yet run goes (with
  // its connection) while all that is still there.
  asio::thread_pool handler_threads{kHandlerThreads};
  std::vector<std::unique_ptr<asio::io_context>> contexts;  // before the acceptors, which use one
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;    // on the first context
  // Each acceptor's pause after a failed accept (pause_then_accept); the acceptors' thread
  // only. Gone before the contexts, so that no wait outlives what it runs on.
  std::map<const tcp::acceptor*, std::unique_ptr<asio::steady_timer>> accept_pauses;
  std::size_t next = 0;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running;
  std::vector<std::thread> threads;
};

HttpServer::HttpServer(HttpHandler handler, ProxyRouter proxy, TunnelRegistry* tunnels)
    : impl_(std::make_unique<Impl>(std::move(handler), std::move(proxy), tunnels)) {}

HttpServer::~HttpServer() {
  try {
    stop();
  } catch (const std::exception& failure) {  // a thread that cannot be joined: nothing to do
    spdlog::error("http server: stopping failed: {}", failure.what());
  }
}

Result<std::uint16_t> HttpServer::listen(const std::string& host, std::uint16_t port) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec)
    return make_error(ErrorCode::invalid_argument, fmt::format("bad listen address \"{}\"", host));
  tcp::endpoint endpoint(address, port);
  auto& acceptor =
      *impl_->acceptors.emplace_back(std::make_unique<tcp::acceptor>(*impl_->contexts.front()));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    impl_->acceptors.pop_back();
    return make_error(ErrorCode::unavailable,
                      fmt::format("cannot listen on {}:{}: {}", host, port, ec.message()));
  }
  return acceptor.local_endpoint().port();
}

Status HttpServer::use_tls(const std::string& certificate_chain_file,
                           const std::string& private_key_file) {
  asio::ssl::context context(asio::ssl::context::tls_server);
  context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                      asio::ssl::context::no_tlsv1_1);
  beast::error_code ec;
  context.use_certificate_chain_file(certificate_chain_file, ec);
  if (ec) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("TLS certificate {}: {}", certificate_chain_file, ec.message()));
  }
  context.use_private_key_file(private_key_file, asio::ssl::context::pem, ec);
  if (ec) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("TLS private key {}: {}", private_key_file, ec.message()));
  }
  impl_->tls.emplace(std::move(context));
  return {};
}

void HttpServer::set_limits(ServerLimits limits) {
  impl_->limits = std::move(limits);
}

std::size_t HttpServer::open_connections() const {
  return impl_->gate ? impl_->gate->open() : 0;
}

void HttpServer::start(int threads) {
  impl_->gate.emplace(impl_->limits.connections);
  while (static_cast<int>(impl_->contexts.size()) < threads) impl_->add_context();
  // Contexts with no connection yet must not return from run().
  for (auto& context : impl_->contexts)
    impl_->keep_running.push_back(asio::make_work_guard(*context));
  for (auto& acceptor : impl_->acceptors) impl_->accept(*acceptor);
  for (auto& context : impl_->contexts) {
    impl_->threads.emplace_back([&context = *context] { context.run(); });
  }
}

std::size_t HttpServer::drain(std::chrono::milliseconds bound) {
  if (!impl_ || impl_->threads.empty()) return 0;
  asio::post(*impl_->contexts.front(), [this] {
    beast::error_code ignored;
    for (auto& acceptor : impl_->acceptors) acceptor->close(ignored);
  });
  impl_->live.drain_all();
  if (impl_->tunnels != nullptr) impl_->tunnels->close_everything();
  auto deadline = std::chrono::steady_clock::now() + bound;
  while (impl_->gate->open() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  return impl_->gate->open();
}

void HttpServer::stop() {
  if (!impl_ || impl_->threads.empty()) return;
  asio::post(*impl_->contexts.front(), [this] {
    beast::error_code ignored;
    for (auto& acceptor : impl_->acceptors) acceptor->close(ignored);
  });
  for (auto& context : impl_->contexts) context->stop();
  for (auto& thread : impl_->threads) thread.join();
  impl_->threads.clear();
  impl_->keep_running.clear();
  // Handlers under way or queued use what the server was made with: they finish first (their
  // replies go nowhere now).
  impl_->handler_threads.join();
}

}  // namespace gpupool::gateway
