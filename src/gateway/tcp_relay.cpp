#include "gateway/tcp_relay.hpp"

#include <array>
#include <map>

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "core/log.hpp"

namespace gpupool::gateway {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// Members in this order: the listeners go first, then the io_context with whatever handlers
// it still holds (a relayed pair counts itself out of `open` and `by_source` as it goes), then
// the rest. `by_source` is touched on the relay's thread only (and at destruction).
struct TcpRelay::State {
  State(Find find_target, std::size_t max, std::size_t max_per_source)
      : find(std::move(find_target)), limit(max), source_limit(max_per_source) {}
  Find find;
  Route route;  // set: a relay by preamble
  std::size_t limit;
  std::size_t source_limit;
  std::atomic<std::size_t> open{0};
  std::map<asio::ip::address, std::size_t> by_source;
  asio::io_context io;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
};

namespace {

constexpr std::size_t kPieceBytes = 64 * 1024;
constexpr auto kConnectTimeout = std::chrono::seconds(10);

// One relayed connection: the client's socket and the node's, bytes copied both ways until
// either side closes. Holds a slot of the relay's counts while it lives.
class Pair : public std::enable_shared_from_this<Pair> {
 public:
  Pair(tcp::socket client, const asio::ip::address& source, TcpRelay::State& state)
      : client_(std::move(client)),
        upstream_(client_.get_executor()),
        timer_(client_.get_executor()),
        source_(source),
        state_(state) {
    ++state_.open;
    ++state_.by_source[source_];
  }
  ~Pair() {
    --state_.open;
    if (--state_.by_source[source_] == 0) state_.by_source.erase(source_);
  }
  Pair(const Pair&) = delete;
  Pair& operator=(const Pair&) = delete;

  void start(const RelayTarget& target) {
    connect(target, [self = shared_from_this()](error_code connected) {
      if (connected) return self->close();
      self->join();
    });
  }

  // By preamble: reads the first line, asks the route, says how it went, then joins.
  void start_routed() {
    timer_.expires_after(kPreambleTime);
    timer_.async_wait([self = shared_from_this()](error_code waited) {
      if (!waited) self->close();
    });
    asio::async_read_until(client_, asio::dynamic_buffer(preamble_, kMaxPreambleBytes), '\n',
                           [self = shared_from_this()](error_code read, std::size_t line_end) {
                             self->timer_.cancel();
                             if (read) return self->close();
                             std::string line = self->preamble_.substr(0, line_end - 1);
                             self->preamble_.erase(
                                 0, line_end);  // what the client sent after it, if anything
                             auto target = self->state_.route(line);
                             if (!target) return self->refuse(target.error().message);
                             self->connect(*target, [self](error_code connected) {
                               if (connected)
                                 return self->refuse("nothing accepts connections there");
                               self->answer_ok();
                             });
                           });
  }

 private:
  template <class Then>
  void connect(const RelayTarget& target, Then then) {
    error_code ec;
    auto address = asio::ip::make_address(target.host, ec);
    if (ec) return close();  // nodes and containers are named by address; nothing is looked up
    timer_.expires_after(kConnectTimeout);
    timer_.async_wait([self = shared_from_this()](error_code waited) {
      if (!waited) self->close();
    });
    upstream_.async_connect(tcp::endpoint(address, target.port),
                            [self = shared_from_this(), then](error_code connected) {
                              self->timer_.cancel();
                              then(connected);
                            });
  }

  void refuse(const std::string& why) {
    reply_ = "ERR " + why + "\n";
    asio::async_write(client_, asio::buffer(reply_),
                      [self = shared_from_this()](error_code, std::size_t) { self->close(); });
  }

  // "OK", then whatever the client sent after its preamble goes on before the rest.
  void answer_ok() {
    reply_ = "OK\n";
    asio::async_write(client_, asio::buffer(reply_),
                      [self = shared_from_this()](error_code written, std::size_t) {
                        if (written) return self->close();
                        if (self->preamble_.empty()) return self->join();
                        asio::async_write(self->upstream_, asio::buffer(self->preamble_),
                                          [self](error_code forwarded, std::size_t) {
                                            if (forwarded) return self->close();
                                            self->join();
                                          });
                      });
  }

  void join() {
    pump(client_, upstream_, to_upstream_);
    pump(upstream_, client_, to_client_);
  }

  using Buffer = std::array<char, kPieceBytes>;

  void pump(tcp::socket& from, tcp::socket& to, Buffer& buffer) {
    from.async_read_some(asio::buffer(buffer), [self = shared_from_this(), &from, &to, &buffer](
                                                   error_code read, std::size_t length) {
      if (read) return self->close();
      asio::async_write(to, asio::buffer(buffer.data(), length),
                        [self, &from, &to, &buffer](error_code written, std::size_t) {
                          if (written) return self->close();
                          self->pump(from, to, buffer);
                        });
    });
  }

  void close() {
    error_code ignored;
    client_.shutdown(tcp::socket::shutdown_both, ignored);
    client_.close(ignored);
    upstream_.shutdown(tcp::socket::shutdown_both, ignored);
    upstream_.close(ignored);
    timer_.cancel();
  }

  tcp::socket client_;
  tcp::socket upstream_;
  asio::steady_timer timer_;
  Buffer to_upstream_{};
  Buffer to_client_{};
  std::string preamble_;  // by preamble: the first line as it is read
  std::string reply_;     // by preamble: "OK" or why not, as it is written
  asio::ip::address source_;
  TcpRelay::State& state_;
};

void accept_next(TcpRelay::State* state, tcp::acceptor& acceptor, std::uint16_t port);

}  // namespace

TcpRelay::TcpRelay(Find find, std::size_t max_connections, std::size_t max_per_source)
    : state_(std::make_unique<State>(std::move(find), max_connections, max_per_source)) {}

TcpRelay::~TcpRelay() {
  stop();
}

std::unique_ptr<TcpRelay> TcpRelay::by_preamble(Route route, std::size_t max_connections,
                                                std::size_t max_per_source) {
  auto relay = std::make_unique<TcpRelay>(Find{}, max_connections, max_per_source);
  relay->state_->route = std::move(route);
  return relay;
}

namespace {

Result<std::unique_ptr<tcp::acceptor>> bind_acceptor(asio::io_context& io, const std::string& host,
                                                     std::uint16_t port) {
  error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return make_error(ErrorCode::invalid_argument, "bad address " + host);
  auto acceptor = std::make_unique<tcp::acceptor>(io);
  tcp::endpoint endpoint(address, port);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(ErrorCode::unavailable, ec.message());
  return acceptor;
}

}  // namespace

Status TcpRelay::listen(const std::string& host, std::uint16_t low, std::uint16_t high) {
  for (unsigned port = low; port <= high; ++port) {
    auto acceptor = bind_acceptor(state_->io, host, static_cast<std::uint16_t>(port));
    if (!acceptor) {
      return make_error(acceptor.error().code, fmt::format("cannot listen on {}:{} for SSH: {}",
                                                           host, port, acceptor.error().message));
    }
    state_->acceptors.push_back(std::move(*acceptor));
  }
  return {};
}

Result<std::uint16_t> TcpRelay::listen_one(const std::string& host, std::uint16_t port) {
  auto acceptor = bind_acceptor(state_->io, host, port);
  if (!acceptor) {
    return make_error(acceptor.error().code, fmt::format("cannot listen on {}:{}: {}", host, port,
                                                         acceptor.error().message));
  }
  std::uint16_t bound = (*acceptor)->local_endpoint().port();
  state_->acceptors.push_back(std::move(*acceptor));
  return bound;
}

void TcpRelay::start() {
  for (auto& acceptor : state_->acceptors)
    accept_next(state_.get(), *acceptor, acceptor->local_endpoint().port());
  thread_ = std::thread([state = state_.get()] { state->io.run(); });
}

void TcpRelay::stop() {
  state_->io.stop();
  if (thread_.joinable()) thread_.join();
}

std::size_t TcpRelay::open_connections() const {
  return state_->open.load();
}

namespace {

// The state outlives every handler: stop() joins the thread before it goes.
void accept_next(TcpRelay::State* state, tcp::acceptor& acceptor, std::uint16_t port) {
  acceptor.async_accept([state, &acceptor, port](error_code accepted, tcp::socket client) {
    if (accepted == asio::error::operation_aborted) return;
    if (!accepted) {
      // Over a limit, or leading nowhere: `client` goes out of scope, closed at once.
      error_code ec;
      auto source = client.remote_endpoint(ec).address();
      auto held = state->by_source.find(source);
      bool room = !ec && state->open.load() < state->limit &&
                  (held == state->by_source.end() || held->second < state->source_limit);
      if (room && state->route) {
        std::make_shared<Pair>(std::move(client), source, *state)->start_routed();
      } else if (auto target = room ? state->find(port) : std::nullopt) {
        std::make_shared<Pair>(std::move(client), source, *state)->start(*target);
      }
    } else {
      // Out of file descriptors, most likely: wait a moment rather than spin.
      spdlog::warn("relay: accepting on port {} failed: {}", port, accepted.message());
      auto pause = std::make_shared<asio::steady_timer>(state->io, std::chrono::milliseconds(100));
      pause->async_wait(
          [state, &acceptor, port, pause](error_code) { accept_next(state, acceptor, port); });
      return;
    }
    accept_next(state, acceptor, port);
  });
}

}  // namespace

}  // namespace gpupool::gateway
