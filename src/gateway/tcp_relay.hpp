// TcpRelay: SSH through the gateway host, for GPU servers on a private network. Each port of a
// range on the gateway stands for one session; a connection to it is joined, byte for byte,
// to wherever `find` says that port leads now (its session's SSH port on its node), or closed
// at once when it leads nowhere. The relay sees only ciphertext: authentication is sshd's, in
// the session, by the user's keys. Its own thread; thread-safe.
#pragma once

#include <atomic>
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

class TcpRelay {
 public:
  using Find = std::function<std::optional<RelayTarget>(std::uint16_t gateway_port)>;

  // At most `max_connections` relayed at once (each holds two sockets), and at most
  // `max_per_source` from one address: one client cannot take every slot.
  explicit TcpRelay(Find find, std::size_t max_connections = 2048, std::size_t max_per_source = 64);
  ~TcpRelay();
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  // Binds every port of [low, high] on `host`; an error when one cannot be bound (the range is
  // the deployment's promise to its firewall). Before start().
  Status listen(const std::string& host, std::uint16_t low, std::uint16_t high);
  void start();
  void stop();  // closes the listeners and every relayed connection, joins the thread

  std::size_t open_connections() const;

  struct State;  // tcp_relay.cpp's: the listeners and what they share

 private:
  std::unique_ptr<State> state_;
  std::thread thread_;
};

}  // namespace gpupool::gateway
