// SplicedTunnel: a proxied WebSocket once the upstream has answered 101 — bytes copied both
// ways until either side closes or nothing has passed for the decision's idle time (Jupyter
// pings its kernels' sockets, so only abandoned ones go quiet), registered with the
// TunnelRegistry under the credential that opened it so that logging out closes it, holding
// its owner's tunnel slot while it lasts. Internal to the proxy (http_proxy.cpp); it lives on
// its connection's thread, and close() may come from any thread.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>

#include "gateway/http_proxy.hpp"

namespace gpupool::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// The proxy's unit of copying: responses are streamed, and tunnels spliced, in pieces this big.
inline constexpr std::size_t kPiece = 64 * 1024;

// A spliced WebSocket connection: bytes both ways until either side closes.
template <class Client>
class SplicedTunnel : public Tunnel, public std::enable_shared_from_this<SplicedTunnel<Client>> {
 public:
  SplicedTunnel(Client& client, beast::tcp_stream upstream, TunnelRegistry& registry,
                ProxyDecision decision, std::function<void(bool)> done)
      : client_(client),
        upstream_(std::move(upstream)),
        registry_(registry),
        credential_(std::move(decision.credential)),
        slot_(std::move(decision.tunnel_slot)),
        idle_time_(decision.tunnel_idle_time),
        idle_timer_(client.get_executor()),
        done_(std::move(done)) {}

  // `to_upstream`/`to_client`: bytes already read past the handshake on either side.
  void start(std::string to_upstream, std::string to_client) {
    beast::get_lowest_layer(client_).expires_never();
    upstream_.expires_never();
    registry_.add(credential_, this->shared_from_this());
    last_traffic_ = std::chrono::steady_clock::now();
    watch_idle(idle_time_);
    pump(client_, upstream_, client_piece_, std::move(to_upstream));
    pump(upstream_, client_, upstream_piece_, std::move(to_client));
  }

  void close() override {
    asio::post(client_.get_executor(), [self = this->shared_from_this()] { self->shut(); });
  }

 private:
  template <class From, class To>
  void pump(From& from, To& to, std::array<char, kPiece>& piece, std::string pending) {
    auto self = this->shared_from_this();
    if (!pending.empty()) {
      auto data = std::make_shared<std::string>(std::move(pending));
      asio::async_write(to, asio::buffer(*data),
                        [self, &from, &to, &piece, data](beast::error_code ec, std::size_t) {
                          if (ec) return self->finish();
                          self->pump(from, to, piece, {});
                        });
      return;
    }
    from.async_read_some(
        asio::buffer(piece), [self, &from, &to, &piece](beast::error_code ec, std::size_t size) {
          if (ec) return self->finish();
          self->last_traffic_ = std::chrono::steady_clock::now();
          asio::async_write(to, asio::buffer(piece.data(), size),
                            [self, &from, &to, &piece](beast::error_code ec, std::size_t) {
                              if (ec) return self->finish();
                              self->pump(from, to, piece, {});
                            });
        });
  }

  // Closes the tunnel once idle_time_ has passed since the last bytes either way.
  void watch_idle(std::chrono::steady_clock::duration wait) {
    idle_timer_.expires_after(wait);
    idle_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->finished_ > 0) return;
      auto quiet = std::chrono::steady_clock::now() - self->last_traffic_;
      if (quiet >= self->idle_time_) return self->shut();
      self->watch_idle(self->idle_time_ - quiet);
    });
  }

  void shut() {
    beast::error_code ignored;
    beast::get_lowest_layer(client_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    upstream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    upstream_.socket().close(ignored);
  }

  // Each pump ends once; the tunnel is over when both have.
  void finish() {
    shut();
    idle_timer_.cancel();
    if (++finished_ < 2) return;
    registry_.remove(credential_, this);
    done_(false);
  }

  Client& client_;
  beast::tcp_stream upstream_;
  TunnelRegistry& registry_;
  std::string credential_;
  Admission slot_;  // the owner's place among their tunnels
  std::chrono::seconds idle_time_;
  asio::steady_timer idle_timer_;
  std::chrono::steady_clock::time_point last_traffic_;
  std::function<void(bool)> done_;
  std::array<char, kPiece> client_piece_;
  std::array<char, kPiece> upstream_piece_;
  int finished_ = 0;
};

}  // namespace gpupool::gateway
