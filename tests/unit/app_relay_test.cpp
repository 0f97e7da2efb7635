// The way to a session's web app: the gateway's path (/s/<id>/apps/<port>/…), the line it
// sends a node's relay first, and the relay by preamble itself, over real loopback sockets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "gateway/app_preamble.hpp"
#include "gateway/proxy_route.hpp"
#include "gateway/tcp_relay.hpp"

namespace gpupool::gateway {
namespace {

TEST(AppPreamble, RoundTripsAndRefusesAnythingElse) {
  AppPreamble preamble{"s1abc", 6006, "0f9a-_Z"};
  std::string line = app_preamble(preamble);
  EXPECT_EQ(line, "APP s1abc 6006 0f9a-_Z\n");
  auto parsed = parse_app_preamble(line.substr(0, line.size() - 1));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->session_id, "s1abc");
  EXPECT_EQ(parsed->port, 6006);
  EXPECT_EQ(parsed->token, "0f9a-_Z");
  for (const char* bad :
       {"", "APP", "APP s1 6006", "APP s1 6006 t extra", "app s1 6006 t", "APP S1 6006 t",
        "APP s1 0 t", "APP s1 65536 t", "APP s1 06006 t", "APP s1 +80 t", "APP s1 80 t/x",
        "APP s1 80 t\r", "APP  s1 80 t", "APP s1/../x 80 t", "APP s1 80 t ", " APP s1 80 t",
        "APP s1 -80 t", "APP s1 8e1 t"}) {
    EXPECT_FALSE(parse_app_preamble(bad).ok()) << bad;
  }
  EXPECT_FALSE(parse_app_preamble("APP s1 80 " + std::string(129, 'a')).ok());
  EXPECT_FALSE(parse_app_preamble("APP " + std::string(33, 'a') + " 80 t").ok());
}

TEST(VscodePath, ReadsWhatFollowsAndLeavesOtherPathsToJupyter) {
  EXPECT_EQ(parse_vscode_path("/s/abc/vscode/a/b?c", "abc")->rest, "/a/b?c");
  EXPECT_FALSE(parse_vscode_path("/s/abc/vscode/", "abc")->bare);
  auto bare = parse_vscode_path("/s/abc/vscode", "abc");
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare->bare);
  EXPECT_EQ(bare->rest, "/");
  EXPECT_FALSE(parse_vscode_path("/s/abc/vscodex/", "abc"));
  EXPECT_FALSE(parse_vscode_path("/s/abc/tree/vscode/", "abc"));
  EXPECT_FALSE(parse_vscode_path("/s/abcd/vscode/", "abc"));
}

TEST(AppPath, ReadsThePortAndWhatFollows) {
  auto app = parse_app_path("/s/abc/apps/6006/static/x.js", "abc");
  ASSERT_TRUE(app.ok() && app->has_value());
  EXPECT_EQ((*app)->port, 6006);
  EXPECT_EQ((*app)->rest, "/static/x.js");
  EXPECT_FALSE((*app)->bare);
  auto bare = parse_app_path("/s/abc/apps/80", "abc");
  ASSERT_TRUE(bare.ok() && bare->has_value());
  EXPECT_TRUE((*bare)->bare);
  EXPECT_EQ((*bare)->rest, "/");
  EXPECT_FALSE(parse_app_path("/s/abc/api/kernels", "abc")->has_value()) << "Jupyter's";
  EXPECT_FALSE(parse_app_path("/s/abc/apps", "abc")->has_value()) << "Jupyter's own /apps";
  for (const char* bad : {"/s/abc/apps/", "/s/abc/apps/0/", "/s/abc/apps/65536/",
                          "/s/abc/apps/099/", "/s/abc/apps/6006x/", "/s/abc/apps/99999999999/"}) {
    EXPECT_FALSE(parse_app_path(bad, "abc").ok()) << bad;
  }
}

// A TCP server on loopback that answers each piece it reads with "got:" and the piece.
class EchoServer {
 public:
  EchoServer() {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    socklen_t length = sizeof address;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    listen(listener_, 4);
    thread_ = std::thread([this] {
      int connection = accept(listener_, nullptr, nullptr);
      if (connection < 0) return;
      char buffer[256];
      ssize_t read_bytes = 0;
      while ((read_bytes = read(connection, buffer, sizeof buffer)) > 0) {
        std::string answer = "got:" + std::string(buffer, static_cast<std::size_t>(read_bytes));
        if (write(connection, answer.data(), answer.size()) < 0) break;
      }
      close(connection);
    });
  }
  ~EchoServer() {
    shutdown(listener_, SHUT_RDWR);
    close(listener_);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

int connect_to(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

// Everything read until `count` bytes came or the peer closed.
std::string read_some(int fd, std::size_t count) {
  std::string text;
  char buffer[256];
  while (text.size() < count) {
    ssize_t got = read(fd, buffer, std::min(sizeof buffer, count - text.size()));
    if (got <= 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
  }
  return text;
}

class RelayByPreamble : public ::testing::Test {
 protected:
  RelayByPreamble() {
    relay_ = TcpRelay::by_preamble([this](const std::string& line) -> Result<RelayTarget> {
      if (line == "to echo") return RelayTarget{"127.0.0.1", echo_.port()};
      if (line == "to nowhere") return RelayTarget{"127.0.0.1", closed_port_};
      return make_error(ErrorCode::not_found, "no such place");
    });
    port_ = *relay_->listen_one("127.0.0.1", 0);
    relay_->start();
    // A port nothing listens on: bound, then closed.
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    closed_port_ = ntohs(address.sin_port);
    close(fd);
  }

  EchoServer echo_;
  std::unique_ptr<TcpRelay> relay_;
  std::uint16_t port_ = 0;
  std::uint16_t closed_port_ = 0;
};

TEST_F(RelayByPreamble, SaysOkThenJoinsCarryingWhatCameEarly) {
  int fd = connect_to(port_);
  // The first bytes for the target ride in the same packet as the preamble.
  std::string first = "to echo\nhello";
  ASSERT_EQ(write(fd, first.data(), first.size()), static_cast<ssize_t>(first.size()));
  EXPECT_EQ(read_some(fd, 3), "OK\n");
  EXPECT_EQ(read_some(fd, 9), "got:hello");
  ASSERT_EQ(write(fd, "more", 4), 4);
  EXPECT_EQ(read_some(fd, 8), "got:more");
  close(fd);
}

TEST_F(RelayByPreamble, RefusesWithTheRoutesWordsOrAClosedPort) {
  int fd = connect_to(port_);
  ASSERT_EQ(write(fd, "elsewhere\n", 10), 10);
  EXPECT_EQ(read_some(fd, 100), "ERR no such place\n");
  close(fd);
  fd = connect_to(port_);
  ASSERT_EQ(write(fd, "to nowhere\n", 11), 11);
  EXPECT_EQ(read_some(fd, 100), "ERR nothing accepts connections there\n");
  close(fd);
}

TEST_F(RelayByPreamble, ALineTooLongIsCutOff) {
  int fd = connect_to(port_);
  std::string long_line(kMaxPreambleBytes + 10, 'a');
  ASSERT_EQ(write(fd, long_line.data(), long_line.size()), static_cast<ssize_t>(long_line.size()));
  EXPECT_EQ(read_some(fd, 100), "");
  close(fd);
}

}  // namespace
}  // namespace gpupool::gateway
