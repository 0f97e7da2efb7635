// The gateway's HTTP server over real sockets: limits, malformed requests, keep-alive, and a
// handler that throws, none of which may take it down.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "gateway/http_server.hpp"
#include "net/http_client.hpp"

namespace gpupool::gateway {
namespace {

using namespace std::chrono_literals;

// Three numbered events, then the end; `alive` is false once the server has let go of it.
class CountingStream : public ReplyStream {
 public:
  explicit CountingStream(std::shared_ptr<std::atomic<bool>> alive, int last)
      : alive_(std::move(alive)), last_(last) {
    *alive_ = true;
  }
  ~CountingStream() override { *alive_ = false; }
  std::optional<std::string> next() override {
    if (last_ >= 0 && sent_ == last_) return std::nullopt;
    if (last_ < 0) return std::string();  // forever, sending nothing
    return "data: " + std::to_string(++sent_) + "\n\n";
  }
  std::chrono::milliseconds interval() const override { return 10ms; }

 private:
  std::shared_ptr<std::atomic<bool>> alive_;
  int last_;
  int sent_ = 0;
};

inline const auto stream_alive = std::make_shared<std::atomic<bool>>(false);

class LiveServer : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<HttpServer>([](const HttpExchange& exchange) {
      if (exchange.path == "/throw") throw std::runtime_error("bug");
      if (exchange.path == "/events" || exchange.path == "/forever") {
        HttpReply reply;
        reply.content_type = "text/event-stream";
        reply.stream =
            std::make_shared<CountingStream>(stream_alive, exchange.path == "/events" ? 3 : -1);
        return reply;
      }
      return HttpReply{
          200,
          "text/plain",
          exchange.method + " " + exchange.path + " " + std::to_string(exchange.body.size()),
          {},
          nullptr};
    });
    auto port = server_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok());
    port_ = *port;
    server_->start(2);
  }
  void TearDown() override { server_->stop(); }

  int connect_to_server() const {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port_);
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    return fd;
  }

  // Sends raw bytes and returns what comes back before the server closes or 2 s pass.
  std::string raw(const std::string& bytes) {
    int fd = connect_to_server();
    timeval timeout{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    (void)!write(fd, bytes.data(), bytes.size());
    std::string reply;
    char buffer[4096];
    ssize_t got = 0;
    while ((got = read(fd, buffer, sizeof buffer)) > 0)
      reply.append(buffer, static_cast<std::size_t>(got));
    close(fd);
    return reply;
  }

  Result<net::HttpResponse> get(const std::string& path) {
    return net::http_call({false, "", "127.0.0.1", port_}, {"GET", path, "", {}}, 5s);
  }

  std::unique_ptr<HttpServer> server_;
  std::uint16_t port_ = 0;
};

TEST_F(LiveServer, AnswersRequests) {
  auto response = get("/hello?x=1");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "GET /hello 0");
  EXPECT_EQ(response->header("X-Content-Type-Options"), "nosniff");
}

TEST_F(LiveServer, StreamsAReplyPieceByPieceUntilItEnds) {
  auto reply = raw("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
  EXPECT_NE(reply.find("Content-Type: text/event-stream\r\n"), std::string::npos) << reply;
  EXPECT_EQ(reply.find("Content-Length"), std::string::npos) << "the body runs until the close";
  EXPECT_TRUE(reply.ends_with("\r\n\r\ndata: 1\n\ndata: 2\n\ndata: 3\n\n")) << reply;
}

TEST_F(LiveServer, AStreamEndsWhenItsClientHangsUp) {
  int fd = connect_to_server();
  std::string request = "GET /forever HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  char buffer[1024];
  ASSERT_GT(read(fd, buffer, sizeof buffer), 0);  // the headers
  EXPECT_TRUE(stream_alive->load());
  close(fd);
  for (int i = 0; i < 200 && stream_alive->load(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(stream_alive->load()) << "the server let go of the stream";
  EXPECT_EQ(get("/").value().status, 200);
}

TEST_F(LiveServer, RefusesOversizedBodiesWith413) {
  auto reply = raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 413")) << reply;
  EXPECT_EQ(get("/").value().status, 200);
}

TEST_F(LiveServer, RefusesOversizedHeaders) {
  auto reply = raw("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 431")) << reply.substr(0, 40);
}

TEST_F(LiveServer, RefusesMalformedAndSmugglingShapes) {
  for (const std::string& request :
       {std::string("BLAH\r\n\r\n"),
        std::string(
            "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        std::string("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"),
        // Obsolete line folding: a continuation line a proxy behind may read otherwise.
        std::string("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"),
        // Both framings: which one counts is how requests get smuggled.
        std::string("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        // Bare LF line ends, in the request line and in a header.
        std::string("GET / HTTP/1.1\nHost: x\n\n"),
        std::string("GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n"),
        // Characters no header may hold.
        std::string("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n")}) {
    auto reply = raw(request);
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 400")) << request << " → " << reply.substr(0, 40);
  }
  EXPECT_EQ(get("/").value().status, 200);
}

TEST_F(LiveServer, AHandlerThatThrowsGets500AndTheServerStaysUp) {
  auto response = get("/throw");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(get("/").value().status, 200);
}

TEST_F(LiveServer, KeepsConnectionsAlive) {
  auto reply = raw(
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(reply.find("GET /a 0"), std::string::npos);
  EXPECT_NE(reply.find("GET /b 0"), std::string::npos);
}

}  // namespace
}  // namespace gpupool::gateway
