#include "gateway/http_proxy.hpp"

#include <strings.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cctype>

#include <fmt/format.h>

#include "core/log.hpp"
#include "gateway/cookies.hpp"
#include "gateway/replies.hpp"
#include "gateway/spliced_tunnel.hpp"

namespace gpupool::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto kConnectTimeout = 10s;
constexpr auto kUpstreamTimeout = 300s;    // for the answer to begin, and between pieces
constexpr auto kUploadPieceTimeout = 60s;  // for each piece of a request body to arrive

using StreamedRequest = http::request_parser<http::buffer_body>;
using UpstreamRequest = http::request<http::buffer_body>;

bool is_hop_by_hop(std::string_view name) {
  for (std::string_view hop : {"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                               "proxy-authorization", "te", "trailer", "upgrade"}) {
    if (name.size() == hop.size() && strncasecmp(name.data(), hop.data(), hop.size()) == 0)
      return true;
  }
  return false;
}

bool named(std::string_view name, std::string_view wanted) {
  return name.size() == wanted.size() &&
         strncasecmp(name.data(), wanted.data(), wanted.size()) == 0;
}

// The header names a request's Connection header lists: hop-by-hop for this connection only.
std::vector<std::string> connection_options(const http::fields& request) {
  std::vector<std::string> names;
  for (const auto& field : request) {
    if (!named(field.name_string(), "connection")) continue;
    std::string_view list = field.value();
    while (!list.empty()) {
      auto comma = list.find(',');
      std::string_view token = list.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
        token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
        token.remove_suffix(1);
      if (!token.empty()) names.emplace_back(token);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  }
  return names;
}

// What the caller may not send on: hop-by-hop fields (also those its Connection names), the
// credentials the gateway replaces, the framing it redoes, the 100-continue it answers
// itself, and forwarding headers, which only the gateway writes.
bool stays_here(std::string_view name, const std::vector<std::string>& connection_options) {
  if (is_hop_by_hop(name) || named(name, "authorization") || named(name, "cookie") ||
      named(name, "content-length") || named(name, "transfer-encoding") || named(name, "expect") ||
      named(name, "forwarded") ||
      (name.size() > 12 && strncasecmp(name.data(), "x-forwarded-", 12) == 0)) {
    return true;
  }
  return std::any_of(connection_options.begin(), connection_options.end(),
                     [name](const std::string& option) { return named(name, option); });
}

// The request's header as it goes upstream; its body follows as it is read (framed as the
// client framed it: the same length, or chunked).
UpstreamRequest upstream_request(const StreamedRequest& parsed, const ProxyDecision& decision,
                                 bool upgrade, const std::string& client_address) {
  const auto& request = parsed.get();
  UpstreamRequest upstream{request.method(), decision.target, 11};
  auto options = connection_options(request);
  for (const auto& field : request) {
    if (stays_here(field.name_string(), options)) continue;
    upstream.insert(field.name_string(), field.value());
  }
  std::string cookies = without_cookies(request[http::field::cookie], decision.strip_cookies);
  if (!cookies.empty()) upstream.set(http::field::cookie, cookies);
  for (const auto& [name, value] : decision.set_headers) upstream.set(name, value);
  if (!client_address.empty()) upstream.set("X-Forwarded-For", client_address);
  if (upgrade) {
    upstream.set(http::field::connection, "Upgrade");
    upstream.set(http::field::upgrade, request[http::field::upgrade]);
  }
  if (!upgrade) upstream.keep_alive(true);
  if (parsed.chunked()) {
    upstream.chunked(true);
  } else if (auto length = parsed.content_length()) {
    upstream.content_length(*length);
  }
  upstream.body().data = nullptr;
  upstream.body().size = 0;
  upstream.body().more = false;
  return upstream;
}

bool has_body(const StreamedRequest& parsed) {
  return parsed.chunked() || parsed.content_length().value_or(0) > 0;
}

bool expects_continue(const StreamedRequest& parsed) {
  std::string_view expect = parsed.get()[http::field::expect];
  return named(expect, "100-continue");
}

}  // namespace

namespace {

// One proxied exchange: connect, send the request, stream the answer back.
template <class Client>
class Relay : public std::enable_shared_from_this<Relay<Client>> {
 public:
  Relay(Client& client, beast::flat_buffer& client_buffer, KeptUpstream& kept,
        ClientRequestHeader&& request, ProxyDecision decision, TunnelRegistry& registry,
        std::function<void(bool)> done)
      : client_(client),
        client_buffer_(client_buffer),
        kept_(kept),
        client_request_(std::move(request)),
        upgrade_(beast::websocket::is_upgrade(client_request_.get())),
        head_(client_request_.get().method() == http::verb::head),
        client_keep_alive_(client_request_.get().keep_alive()),
        has_body_(has_body(client_request_)),
        decision_(std::move(decision)),
        registry_(registry),
        resolver_(client.get_executor()),
        done_(std::move(done)) {
    client_request_.body_limit(boost::none);  // authorised: an upload may be of any size
    beast::error_code ignored;
    auto remote = beast::get_lowest_layer(client).socket().remote_endpoint(ignored);
    std::string address = ignored ? "" : remote.address().to_string();
    request_ = upstream_request(client_request_, decision_, upgrade_, address);
    upstream_.emplace(client.get_executor());
  }

  void start() {
    bool same_upstream = kept_.stream && kept_.host == decision_.host &&
                         kept_.port == decision_.port && kept_.preamble == decision_.preamble;
    // A body is read from the client once: its request cannot go again over a fresh
    // connection if a kept one turns out closed, so it never takes a kept one.
    if (same_upstream && !upgrade_ && !has_body_) {
      upstream_.emplace(std::move(*kept_.stream));
      kept_.stream.reset();
      reused_ = true;
      return send();
    }
    kept_.stream.reset();  // closes a connection to another upstream
    connect();
  }

 private:
  void connect() {
    reused_ = false;
    resolver_.async_resolve(
        decision_.host, std::to_string(decision_.port),
        [self = this->shared_from_this()](beast::error_code ec,
                                          tcp::resolver::results_type results) {
          if (ec) return self->fail("cannot resolve the session's node");
          self->upstream_->expires_after(kConnectTimeout);
          self->upstream_->async_connect(
              results, [self](beast::error_code ec, const tcp::endpoint&) {
                if (ec)
                  return self->fail(self->decision_.preamble.empty()
                                        ? "it does not accept connections"
                                        : "the node's app relay does not accept connections");
                beast::error_code ignored;
                self->upstream_->socket().set_option(tcp::no_delay(true), ignored);
                if (!self->decision_.preamble.empty()) return self->through_relay();
                self->send();
              });
        });
  }

  // Tells the node's relay where this connection goes; its answer is one line, and nothing
  // follows it before the request is sent.
  void through_relay() {
    asio::async_write(*upstream_, asio::buffer(decision_.preamble),
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->fail("the node's app relay closed the connection");
                        asio::async_read_until(
                            *self->upstream_, asio::dynamic_buffer(self->relay_answer_, 512), '\n',
                            [self](beast::error_code ec, std::size_t line_end) {
                              if (ec) return self->fail("the node's app relay did not answer");
                              std::string line = self->relay_answer_.substr(0, line_end - 1);
                              if (line != "OK") {
                                return self->fail(line.starts_with("ERR ")
                                                      ? line.substr(4)
                                                      : "the node's app relay refused it");
                              }
                              self->send();
                            });
                      });
  }

  // A kept connection the upstream has closed meanwhile fails at once, before any answer:
  // then the request goes again over a fresh one.
  bool retry_fresh(beast::error_code ec) {
    if (!reused_ || answered_) return false;
    if (ec != http::error::end_of_stream && ec != asio::error::connection_reset &&
        ec != asio::error::broken_pipe && ec != asio::error::eof) {
      return false;
    }
    beast::error_code ignored;
    upstream_->socket().close(ignored);
    upstream_.emplace(client_.get_executor());
    upstream_buffer_.clear();
    connect();
    return true;
  }

  void send() {
    request_serializer_.emplace(request_);
    if (!has_body_) return send_piece();
    if (!expects_continue(client_request_)) return read_upload_piece();
    // The client waits for this before it sends the body.
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    beast::get_lowest_layer(client_).expires_after(kUploadPieceTimeout);
    asio::async_write(client_, asio::buffer(kContinue),
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->abort();
                        self->read_upload_piece();
                      });
  }

  // The next piece of the request body from the client, into piece_ (free until the answer).
  void read_upload_piece() {
    if (client_request_.is_done()) {  // the body's end: the serializer finishes the message
      request_.body().data = nullptr;
      request_.body().size = 0;
      request_.body().more = false;
      return send_piece();
    }
    auto& body = client_request_.get().body();
    body.data = piece_.data();
    body.size = piece_.size();
    beast::get_lowest_layer(client_).expires_after(kUploadPieceTimeout);
    http::async_read(client_, client_buffer_, client_request_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec == http::error::need_buffer) ec = {};
                       if (ec) return self->abort();
                       auto& body = self->client_request_.get().body();
                       self->request_.body().size = self->piece_.size() - body.size;
                       self->request_.body().data = self->piece_.data();
                       self->request_.body().more = !self->client_request_.is_done();
                       self->send_piece();
                     });
  }

  // Writes the header (the first time) and what request_'s body holds; the whole request
  // once no body or its last piece is out.
  void send_piece() {
    upstream_->expires_after(kUpstreamTimeout);
    http::async_write(*upstream_, *request_serializer_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec == http::error::need_buffer) ec = {};
                        if (ec && self->retry_fresh(ec)) return;
                        if (ec) return self->fail("it closed the connection");
                        if (!self->request_serializer_->is_done()) return self->read_upload_piece();
                        self->read_header();
                      });
  }

  void read_header() {
    parser_.body_limit(boost::none);
    parser_.header_limit(64 * 1024);
    parser_.skip(head_);
    http::async_read_header(*upstream_, upstream_buffer_, parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec && self->retry_fresh(ec)) return;
                              if (ec) return self->fail("it did not answer");
                              self->answered_ = true;
                              self->on_header();
                            });
  }

  void on_header() {
    auto& response = parser_.get();
    if (upgrade_ && response.result() == http::status::switching_protocols) return open_tunnel();
    for (auto it = response.begin(); it != response.end();) {
      it = is_hop_by_hop(it->name_string()) ? response.erase(it) : std::next(it);
    }
    upstream_reusable_ = response.keep_alive() && !parser_.need_eof();
    keep_alive_ = client_keep_alive_ && !parser_.need_eof();
    response.keep_alive(keep_alive_);
    serializer_.emplace(response);
    pump();
  }

  // Reads a piece of the body (if any is left) and writes what is there to the client.
  void pump() {
    auto& body = parser_.get().body();
    if (parser_.is_done()) {
      body.data = nullptr;
      body.size = 0;
      body.more = false;
      return write_piece();
    }
    body.data = piece_.data();
    body.size = piece_.size();
    upstream_->expires_after(kUpstreamTimeout);
    http::async_read(*upstream_, upstream_buffer_, parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec == http::error::need_buffer) ec = {};
                       if (ec) return self->abort();
                       auto& body = self->parser_.get().body();
                       body.size = self->piece_.size() - body.size;
                       body.data = self->piece_.data();
                       body.more = !self->parser_.is_done();
                       self->write_piece();
                     });
  }

  void write_piece() {
    beast::get_lowest_layer(client_).expires_after(kUpstreamTimeout);
    http::async_write(client_, *serializer_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec == http::error::need_buffer) ec = {};
                        if (ec) return self->abort();
                        if (self->serializer_->is_done() || self->parser_.is_done()) {
                          self->keep_upstream();
                          return self->finish(self->keep_alive_);
                        }
                        self->pump();
                      });
  }

  void open_tunnel() {
    // The 101 goes back as it came; then both connections carry WebSocket frames.
    auto header = std::make_shared<http::response<http::empty_body>>();
    header->result(http::status::switching_protocols);
    header->version(11);
    for (const auto& field : parser_.get()) header->insert(field.name_string(), field.value());
    auto self = this->shared_from_this();
    http::async_write(client_, *header, [self, header](beast::error_code ec, std::size_t) {
      if (ec) return self->abort();
      std::string to_client = beast::buffers_to_string(self->upstream_buffer_.data());
      std::string to_upstream = beast::buffers_to_string(self->client_buffer_.data());
      self->client_buffer_.consume(self->client_buffer_.size());
      auto tunnel = std::make_shared<SplicedTunnel<Client>>(
          self->client_, std::move(*self->upstream_), self->registry_, std::move(self->decision_),
          std::move(self->done_));
      tunnel->start(std::move(to_upstream), std::move(to_client));
    });
  }

  void fail(const std::string& why) {
    spdlog::warn("proxy to {}:{}: {}", decision_.host, decision_.port, why);
    HttpReply page = bad_gateway_page(why, decision_.upstream_name);
    auto response = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(page.status), 11);
    response->set(http::field::content_type, page.content_type);
    response->set(http::field::cache_control, "no-store");
    response->body() = page.body;
    response->keep_alive(client_keep_alive_ && !upgrade_);
    response->prepare_payload();
    beast::get_lowest_layer(client_).expires_after(30s);
    http::async_write(
        client_, *response,
        [self = this->shared_from_this(), response](beast::error_code ec, std::size_t) {
          self->finish(!ec && response->keep_alive());
        });
  }

  // A complete answer on a connection the upstream keeps open: the next request may use it.
  void keep_upstream() {
    if (!upstream_reusable_ || !parser_.is_done() || upstream_buffer_.size() != 0) return;
    kept_.host = decision_.host;
    kept_.port = decision_.port;
    kept_.preamble = decision_.preamble;
    kept_.stream.emplace(std::move(*upstream_));
    kept_.stream->expires_never();
    upstream_.emplace(client_.get_executor());
  }

  // Mid-answer failures cannot be reported any more: the client connection just ends.
  void abort() { finish(false); }

  void finish(bool keep_alive) {
    beast::error_code ignored;
    upstream_->socket().close(ignored);
    if (done_) std::exchange(done_, nullptr)(keep_alive);
  }

  Client& client_;
  beast::flat_buffer& client_buffer_;
  KeptUpstream& kept_;
  StreamedRequest client_request_;  // header read; the body read as it is sent on
  bool reused_ = false;             // upstream_ came from kept_
  bool answered_ = false;           // the upstream began its answer
  bool upstream_reusable_ = false;  // it keeps the connection open after this answer
  bool upgrade_;
  bool head_;
  bool client_keep_alive_;
  bool has_body_;
  bool keep_alive_ = false;
  ProxyDecision decision_;
  TunnelRegistry& registry_;
  tcp::resolver resolver_;
  std::optional<beast::tcp_stream> upstream_;  // optional: basic_stream cannot be reassigned
  beast::flat_buffer upstream_buffer_;
  std::string relay_answer_;  // the app relay's "OK" (or why not)
  UpstreamRequest request_;
  std::optional<http::request_serializer<http::buffer_body>> request_serializer_;
  http::response_parser<http::buffer_body> parser_;
  std::optional<http::response_serializer<http::buffer_body>> serializer_;
  // The body's piece on its way, up (the request's) and then down (the answer's); not zeroed:
  // it is written before it is read.
  std::array<char, kPiece> piece_;
  std::function<void(bool)> done_;
};

}  // namespace

void relay(beast::tcp_stream& client, beast::flat_buffer& client_buffer, KeptUpstream& kept,
           ClientRequestHeader&& request, ProxyDecision decision, TunnelRegistry& registry,
           std::function<void(bool keep_alive)> done) {
  std::make_shared<Relay<beast::tcp_stream>>(client, client_buffer, kept, std::move(request),
                                             std::move(decision), registry, std::move(done))
      ->start();
}

void relay(TlsStream& client, beast::flat_buffer& client_buffer, KeptUpstream& kept,
           ClientRequestHeader&& request, ProxyDecision decision, TunnelRegistry& registry,
           std::function<void(bool keep_alive)> done) {
  std::make_shared<Relay<TlsStream>>(client, client_buffer, kept, std::move(request),
                                     std::move(decision), registry, std::move(done))
      ->start();
}

HttpReply bad_gateway_page(const std::string& why, const std::string& upstream_name) {
  auto capitalized = [](std::string text) {
    if (!text.empty())
      text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
    return html_escape(text);
  };
  return {502,
          "text/html; charset=utf-8",
          fmt::format("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<title>Session not reachable</title></head><body>"
                      "<h1>{} is not reachable</h1><p>{}. It may still be "
                      "starting, or it has stopped. Try again in a moment, or go back to "
                      "<a href=\"/\">your sessions</a>.</p></body></html>",
                      capitalized(upstream_name), capitalized(why)),
          {},
          nullptr};
}

}  // namespace gpupool::gateway
