// The gateway's limits over real sockets: connection caps per source and overall, idle and
// request times, running out of file descriptors, and proxied requests decided before their
// body is read and streamed after.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "gateway/http_proxy.hpp"
#include "gateway/http_server.hpp"
#include "net/http_client.hpp"

namespace gpupool::gateway {
namespace {

using namespace std::chrono_literals;

class Limits : public ::testing::Test {
 protected:
  void SetUp() override {
    // The upstream says how much body it got; the gateway proxies /s/open/ and refuses the rest.
    upstream_ = std::make_unique<HttpServer>([](const HttpExchange& exchange) {
      return HttpReply{200, "text/plain", std::to_string(exchange.body.size()), {}, nullptr};
    });
    auto upstream_port = upstream_->listen("127.0.0.1", 0);
    ASSERT_TRUE(upstream_port.ok());
    upstream_->start(1);
    upstream_port_ = *upstream_port;
  }

  void start(ServerLimits limits) {
    gateway_ = std::make_unique<HttpServer>(
        [](const HttpExchange& exchange) {
          if (exchange.path == "/slow") std::this_thread::sleep_for(500ms);
          return HttpReply{200, "text/plain", "api " + exchange.path, {}, nullptr};
        },
        [this](const HttpExchange& exchange) {
          ProxyDecision decision;
          if (!exchange.path.starts_with("/s/open/")) {
            decision.reply = HttpReply{404, "text/plain", "no such session", {}, nullptr};
            return decision;
          }
          decision.host = "127.0.0.1";
          decision.port = upstream_port_;
          decision.target = exchange.target;
          return decision;
        },
        &tunnels_);
    gateway_->set_limits(std::move(limits));
    auto port = gateway_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok());
    port_ = *port;
    gateway_->start(2);
  }

  void TearDown() override {
    for (int fd : held_) close(fd);
    if (gateway_) gateway_->stop();
    upstream_->stop();
  }

  // A connection from `source` (any 127.0.0.0/8 address reaches the gateway), kept open
  // until the test ends unless closed.
  int open_from(const char* source) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, source, &local.sin_addr);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port_);
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    held_.push_back(fd);
    return fd;
  }

  static void send_all(int fd, const std::string& bytes) {
    (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }

  // What arrives until the server closes (or the 5 s receive timeout passes).
  static std::string read_to_end(int fd) {
    std::string reply;
    char buffer[4096];
    ssize_t got = 0;
    while ((got = recv(fd, buffer, sizeof buffer, 0)) > 0)
      reply.append(buffer, static_cast<std::size_t>(got));
    return reply;
  }

  // One request on a fresh connection from `source`; the status line, or "" when turned away.
  std::string status_from(const char* source, const std::string& path = "/api/v1/x") {
    int fd = open_from(source);
    send_all(fd, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string reply = read_to_end(fd);
    return reply.substr(0, reply.find("\r\n"));
  }

  TunnelRegistry tunnels_;
  std::unique_ptr<HttpServer> upstream_;
  std::unique_ptr<HttpServer> gateway_;
  std::uint16_t upstream_port_ = 0;
  std::uint16_t port_ = 0;
  std::vector<int> held_;
};

// Waits until the gateway holds `count` connections (accepting is asynchronous; under a
// sanitizer on a loaded machine it can take seconds).
void wait_for_open(const HttpServer& server, std::size_t count) {
  for (int i = 0; i < 1000 && server.open_connections() != count; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(server.open_connections(), count);
}

TEST_F(Limits, OneSourceCannotTakeEveryConnection) {
  ServerLimits limits;
  limits.connections.total = 20;
  limits.connections.per_source = 5;
  limits.connections.unlimited_source = [](const std::string& address) {
    return address == "127.0.0.9";  // a trusted reverse proxy
  };
  start(limits);
  for (int i = 0; i < 5; ++i) open_from("127.0.0.2");  // idle: they send nothing
  wait_for_open(*gateway_, 5);
  std::string turned_away = status_from("127.0.0.2");
  EXPECT_TRUE(turned_away.empty() || turned_away == "HTTP/1.1 503 Service Unavailable")
      << turned_away;
  EXPECT_EQ(status_from("127.0.0.3"), "HTTP/1.1 200 OK") << "another source is served";

  close(held_.front());  // one of the five goes away: its source may connect again
  held_.erase(held_.begin());
  wait_for_open(*gateway_, 4);
  EXPECT_EQ(status_from("127.0.0.2"), "HTTP/1.1 200 OK");

  // The proxy's address counts only in the total, which holds for everyone.
  for (int i = 0; i < 16; ++i) open_from("127.0.0.9");
  wait_for_open(*gateway_, 20);
  std::string full = status_from("127.0.0.4");
  EXPECT_TRUE(full.empty() || full == "HTTP/1.1 503 Service Unavailable") << full;
}

TEST_F(Limits, SilentAndTricklingConnectionsAreClosed) {
  ServerLimits limits;
  limits.idle_time = 1s;
  limits.request_time = 2s;
  start(limits);
  auto began = std::chrono::steady_clock::now();
  int silent = open_from("127.0.0.2");
  EXPECT_EQ(read_to_end(silent), "") << "closed without a word";
  EXPECT_LT(std::chrono::steady_clock::now() - began, 3s);

  // A byte every half second keeps no connection past its request time.
  int trickle = open_from("127.0.0.2");
  began = std::chrono::steady_clock::now();
  std::string header = "GET /slow HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaa\r\n\r\n";
  bool closed = false;
  for (char c : header) {
    if (send(trickle, &c, 1, MSG_NOSIGNAL) != 1) {
      closed = true;
      break;
    }
    std::this_thread::sleep_for(500ms);
    if (std::chrono::steady_clock::now() - began > 6s) break;
  }
  EXPECT_TRUE(closed || read_to_end(trickle).empty());
  EXPECT_LT(std::chrono::steady_clock::now() - began, 6s);
}

// GCC says so with a macro, clang with a feature test.
#if defined(__SANITIZE_ADDRESS__)
#define GPUPOOL_UNDER_SANITIZERS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GPUPOOL_UNDER_SANITIZERS 1
#endif
#endif

TEST_F(Limits, OutOfDescriptorsItPausesAndRecovers) {
#ifdef GPUPOOL_UNDER_SANITIZERS
  // The sanitizers check memory through a pipe of their own: with no descriptor left they
  // report valid objects as invalid. The release build runs this test.
  GTEST_SKIP() << "needs descriptors the sanitizers take";
#endif
  ServerLimits limits;  // caps far above what the descriptors allow: accept() itself fails
  start(limits);
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  // Leave a handful of descriptors: the clients below take them, then the gateway has none.
  int probe = dup(0);
  ASSERT_GE(probe, 0);
  close(probe);
  rlimit tight = before;
  tight.rlim_cur = static_cast<rlim_t>(probe) + 8;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);
  std::vector<int> clients;
  for (int i = 0; i < 8; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) break;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port_);
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    (void)!connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    clients.push_back(fd);
  }
  rusage start_usage{};
  getrusage(RUSAGE_SELF, &start_usage);
  std::this_thread::sleep_for(1s);
  rusage end_usage{};
  getrusage(RUSAGE_SELF, &end_usage);
  auto cpu_us = [](const rusage& usage) {
    return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1'000'000L + usage.ru_utime.tv_usec +
           usage.ru_stime.tv_usec;
  };
  EXPECT_LT(cpu_us(end_usage) - cpu_us(start_usage), 300'000)
      << "pending connections it cannot accept must not make it spin";
  for (int fd : clients) close(fd);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &before), 0);
  auto reply = net::http_call({false, "", "127.0.0.1", port_}, {"GET", "/after", "", {}}, 5s);
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->body, "api /after");
}

TEST_F(Limits, ARefusedProxiedRequestsBodyIsNeverRead) {
  start({});
  int fd = open_from("127.0.0.2");
  // Claims a gigabyte and sends only the header: the answer must come anyway, at once.
  send_all(fd,
           "PUT /s/other/api/contents/f HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n");
  std::string reply = read_to_end(fd);
  EXPECT_EQ(reply.substr(0, reply.find("\r\n")), "HTTP/1.1 404 Not Found");
  EXPECT_NE(reply.find("Connection: close"), std::string::npos)
      << "the unread body cannot be followed by another request";
}

TEST_F(Limits, AllowedUploadsStreamWhateverTheirFraming) {
  start({});
  // Chunked, after asking to continue: the gateway says 100 itself once the route is allowed.
  int fd = open_from("127.0.0.2");
  send_all(fd,
           "POST /s/open/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
           "Expect: 100-continue\r\nConnection: close\r\n\r\n");
  char interim[64] = {};
  ssize_t got = recv(fd, interim, sizeof interim - 1, 0);
  ASSERT_GT(got, 0);
  EXPECT_EQ(std::string(interim, static_cast<std::size_t>(got)), "HTTP/1.1 100 Continue\r\n\r\n");
  std::string piece(100000, 'z');
  char size_line[32];
  snprintf(size_line, sizeof size_line, "%zx\r\n", piece.size());
  for (int i = 0; i < 3; ++i) send_all(fd, size_line + piece + "\r\n");
  send_all(fd, "0\r\n\r\n");
  std::string reply = read_to_end(fd);
  EXPECT_EQ(reply.substr(0, reply.find("\r\n")), "HTTP/1.1 200 OK");
  EXPECT_TRUE(reply.ends_with("\r\n\r\n300000")) << reply;

  // With a length, on a kept-alive connection that then carries another request.
  auto first = net::http_call({false, "", "127.0.0.1", port_},
                              {"PUT", "/s/open/f", std::string(200000, 'y'), {}}, 5s);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->body, "200000");
}

TEST_F(Limits, ADrainFinishesRequestsUnderWayAndClosesIdleConnections) {
  start({});
  int idle = open_from("127.0.0.2");
  int busy = open_from("127.0.0.3");
  send_all(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");  // keep-alive asked for
  wait_for_open(*gateway_, 2);
  std::this_thread::sleep_for(100ms);  // the slow request is in its handler
  auto began = std::chrono::steady_clock::now();
  EXPECT_EQ(gateway_->drain(5s), 0u) << "nothing was left to cut";
  EXPECT_LT(std::chrono::steady_clock::now() - began, 2s);
  EXPECT_EQ(read_to_end(idle), "") << "closed without a word";
  std::string reply = read_to_end(busy);
  EXPECT_EQ(reply.substr(0, reply.find("\r\n")), "HTTP/1.1 200 OK");
  EXPECT_TRUE(reply.ends_with("api /slow")) << "answered whole, then closed";
  int late = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port_);
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  EXPECT_NE(connect(late, reinterpret_cast<sockaddr*>(&address), sizeof address), 0)
      << "nothing new is accepted";
  close(late);
}

}  // namespace
}  // namespace gpupool::gateway
