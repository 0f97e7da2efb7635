// The gateway's SSH relay over real sockets: bytes both ways to where its port leads now, and
// nothing for a port that leads nowhere.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "gateway/tcp_relay.hpp"

namespace gpupool::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::uint16_t unused_port() {
  asio::io_context io;
  tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return probe.local_endpoint().port();
}

// Answers each connection's bytes in upper case, one connection at a time.
class UpperCaseServer {
 public:
  UpperCaseServer() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] {
      boost::system::error_code ec;
      while (!stopping_) {
        tcp::socket socket(io_);
        acceptor_.accept(socket, ec);
        if (ec) return;
        char byte = 0;
        while (asio::read(socket, asio::buffer(&byte, 1), ec) == 1) {
          byte = static_cast<char>(std::toupper(static_cast<unsigned char>(byte)));
          asio::write(socket, asio::buffer(&byte, 1), ec);
        }
      }
    });
  }
  ~UpperCaseServer() {
    stopping_ = true;
    // A blocking accept is not woken by closing its socket: a last connection wakes it.
    boost::system::error_code ignored;
    tcp::socket wake(io_);
    wake.connect(acceptor_.local_endpoint(), ignored);
    wake.close(ignored);
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

std::string round_trip(std::uint16_t port, const std::string& text) {
  asio::io_context io;
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return "connect: " + ec.message();
  // Written while the answer is read: neither side waits for the other to drain.
  std::thread writer([&] {
    boost::system::error_code write_ec;
    asio::write(socket, asio::buffer(text), write_ec);
  });
  std::string reply(text.size(), '\0');
  asio::read(socket, asio::buffer(reply), ec);
  if (ec) socket.close();  // ends a write the other side no longer reads
  writer.join();
  if (ec) return "read: " + ec.message();
  return reply;
}

TEST(TcpRelay, JoinsAPortToWhereItLeadsAndClosesOneThatLeadsNowhere) {
  UpperCaseServer node;
  std::uint16_t leading = unused_port();
  std::uint16_t idle = unused_port();
  ASSERT_NE(leading, idle);
  gateway::TcpRelay relay([&](std::uint16_t port) -> std::optional<gateway::RelayTarget> {
    if (port == leading) return gateway::RelayTarget{"127.0.0.1", node.port()};
    return std::nullopt;
  });
  ASSERT_TRUE(relay.listen("127.0.0.1", leading, leading).ok());
  ASSERT_TRUE(relay.listen("127.0.0.1", idle, idle).ok());
  relay.start();
  EXPECT_EQ(round_trip(leading, "ssh-2.0-openssh"), "SSH-2.0-OPENSSH");
  EXPECT_EQ(round_trip(leading, std::string(200'000, 'x')), std::string(200'000, 'X'))
      << "more than one piece each way";
  EXPECT_NE(round_trip(idle, "hello"), "HELLO");
  relay.stop();
}

TEST(TcpRelay, OneAddressCannotTakeEverySlot) {
  UpperCaseServer node;
  std::uint16_t port = unused_port();
  gateway::TcpRelay relay(
      [&](std::uint16_t) {
        return std::optional(gateway::RelayTarget{"127.0.0.1", node.port()});
      },
      16, 2);
  ASSERT_TRUE(relay.listen("127.0.0.1", port, port).ok());
  relay.start();
  asio::io_context io;
  std::vector<tcp::socket> held;
  for (int i = 0; i < 2; ++i) {
    held.emplace_back(io);
    held.back().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  for (int i = 0; i < 500 && relay.open_connections() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(relay.open_connections(), 2U);
  // A third from the same address is closed at once (end of file, or a reset).
  EXPECT_TRUE(round_trip(port, "x").starts_with("read: "));
  held.clear();  // both closed: their slots come back
  for (int i = 0; i < 500 && relay.open_connections() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(round_trip(port, "ssh"), "SSH");
  relay.stop();
}

}  // namespace
}  // namespace gpupool::testing
