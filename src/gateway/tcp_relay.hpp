// TcpRelay joins TCP connections, byte for byte, to wherever they lead. Two kinds:
//   - by port (SSH through the gateway host, for GPU servers on a private network): each port
//     of a range on the gateway stands for one session; a connection to it is joined to
//     wherever `find` says that port leads now (its session's SSH port on its node), or closed
//     at once when it leads nowhere. The relay sees only ciphertext: authentication is
//     sshd's, in the session, by the user's keys.
//   - by preamble (a node's relay to the web apps its sessions serve, app/app_relay.hpp): each
//     connection first says in one line where it wants to go and with what right; `route`
//     judges the line.
// Its own thread; thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.hpp"

namespace gpupool::gateway {

struct RelayTarget {
  std::string host;  // an address of the node
  std::uint16_t port = 0;
};

// The longest first line a connection to a relay by preamble may send, and how long it has.
inline constexpr std::size_t kMaxPreambleBytes = 512;
inline constexpr std::chrono::seconds kPreambleTime{10};

class TcpRelay {
 public:
  using Find = std::function<std::optional<RelayTarget>(std::uint16_t gateway_port)>;
  // Where a connection whose first line is `line` (its '\n' taken off) goes, or why not.
  using Route = std::function<Result<RelayTarget>(const std::string& line)>;

  // At most `max_connections` relayed at once (each holds two sockets), and at most
  // `max_per_source` from one address: one client cannot take every slot.
  explicit TcpRelay(Find find, std::size_t max_connections = 2048, std::size_t max_per_source = 64);
  // By preamble: each connection's first line (at most kMaxPreambleBytes, within
  // kPreambleTime) goes to `route`; the relay answers "OK\n" once the target accepted the
  // connection, and from then on joins them, or "ERR <why>\n" and closes it. Its clients are
  // gateways, each carrying many users' connections: one may take every slot.
  static std::unique_ptr<TcpRelay> by_preamble(Route route, std::size_t max_connections = 2048,
                                               std::size_t max_per_source = 2048);
  ~TcpRelay();
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  // Binds every port of [low, high] on `host`; an error when one cannot be bound (the range is
  // the deployment's promise to its firewall). Before start().
  Status listen(const std::string& host, std::uint16_t low, std::uint16_t high);
  // Binds one port (0: a free one, picked by the kernel): the port bound.
  Result<std::uint16_t> listen_one(const std::string& host, std::uint16_t port);
  void start();
  void stop();  // closes the listeners and every relayed connection, joins the thread

  std::size_t open_connections() const;

  struct State;  // tcp_relay.cpp's: the listeners and what they share

 private:
  std::unique_ptr<State> state_;
  std::thread thread_;
};

}  // namespace gpupool::gateway
