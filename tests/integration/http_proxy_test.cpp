// The gateway's reverse proxy over real sockets, against an upstream that echoes what it
// receives: header rewriting, large bodies both ways, keep-alive, and an upstream that is down.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "gateway/http_proxy.hpp"
#include "gateway/http_server.hpp"
#include "net/http_client.hpp"

namespace gpupool::gateway {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kBig = 8 * 1024 * 1024;

class ProxyOverSockets : public ::testing::Test {
 protected:
  void SetUp() override {
    upstream_ = std::make_unique<HttpServer>([](const HttpExchange& exchange) {
      if (exchange.path.ends_with("/big")) {
        std::string body(kBig, 'x');
        for (std::size_t i = 0; i < body.size(); i += 4096)
          body[i] = static_cast<char>('a' + i % 26);
        return HttpReply{200, "application/octet-stream", body, {}, nullptr};
      }
      json headers = json::object();
      for (const auto& [name, value] : exchange.headers) headers[name] = value;
      return HttpReply{200,
                       "application/json",
                       json{{"target", exchange.target},
                            {"headers", headers},
                            {"body_size", exchange.body.size()}}
                           .dump(),
                       {},
                       nullptr};
    });
    auto upstream_port = upstream_->listen("127.0.0.1", 0);
    ASSERT_TRUE(upstream_port.ok());
    upstream_->start(1);
    upstream_port_ = *upstream_port;

    gateway_ = std::make_unique<HttpServer>(
        [](const HttpExchange&) {
          return HttpReply{200, "text/plain", "api", {}, nullptr};
        },
        [this](const HttpExchange& exchange) {
          ProxyDecision decision;
          decision.host = "127.0.0.1";
          decision.port = exchange.path.starts_with("/s/down/") ? closed_port_ : upstream_port_;
          decision.target = exchange.target;
          decision.set_headers = {{"Authorization", "token upstream-secret"}};
          decision.strip_cookies = {"gpupool_session"};
          decision.credential = "alice";
          return decision;
        },
        &tunnels_);
    auto port = gateway_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok());
    gateway_->start(2);
    port_ = *port;
  }

  void TearDown() override {
    gateway_->stop();
    upstream_->stop();
  }

  Result<net::HttpResponse> call(net::HttpRequest request) {
    return net::http_call({false, "", "127.0.0.1", port_}, request, 10s);
  }

  TunnelRegistry tunnels_;
  std::unique_ptr<HttpServer> upstream_;
  std::unique_ptr<HttpServer> gateway_;
  std::uint16_t upstream_port_ = 0;
  std::uint16_t port_ = 0;
  std::uint16_t closed_port_ = 1;  // nothing listens on port 1 here
};

TEST_F(ProxyOverSockets, RewritesCredentialsAndKeepsTheRest) {
  auto reply = call({"POST",
                     "/s/abc/api/contents?type=file",
                     "{\"k\":1}",
                     {{"Authorization", "Bearer gp_users_own_token"},
                      {"Cookie", "gpupool_session=secret; _xsrf=keep-me; other=1"},
                      {"X-Forwarded-For", "203.0.113.9"},
                      {"X-Forwarded-Host", "evil.example"},
                      {"X-Forwarded-Proto", "https"},
                      {"Forwarded", "for=203.0.113.9;host=evil.example"},
                      {"Connection", "keep-alive, X-Hop"},
                      {"X-Hop", "meant for the gateway only"},
                      {"X-Custom", "kept"}}});
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  ASSERT_EQ(reply->status, 200) << reply->body;
  auto echoed = json::parse(reply->body);
  EXPECT_EQ(echoed["target"], "/s/abc/api/contents?type=file");
  EXPECT_EQ(echoed["body_size"], 7);
  const auto& headers = echoed["headers"];
  EXPECT_EQ(headers["Authorization"], "token upstream-secret") << "the user's token never leaves";
  EXPECT_EQ(headers["Cookie"], "_xsrf=keep-me; other=1") << "the gateway's cookie never leaves";
  EXPECT_EQ(headers["X-Forwarded-For"], "127.0.0.1") << "set by the gateway, not the caller";
  EXPECT_EQ(headers["X-Custom"], "kept");
  for (const char* gone : {"X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Hop"})
    EXPECT_FALSE(headers.contains(gone)) << gone << " is not the caller's to send on";
  EXPECT_EQ(headers["Host"], "127.0.0.1") << "Jupyter checks Origin against the Host it sees";
}

TEST_F(ProxyOverSockets, LargeBodiesPassBothWays) {
  auto down = call({"GET", "/s/abc/files/big", "", {}});
  ASSERT_TRUE(down.ok()) << down.error().message;
  ASSERT_EQ(down->status, 200);
  ASSERT_EQ(down->body.size(), kBig);
  EXPECT_EQ(down->body[4096], static_cast<char>('a' + 4096 % 26));

  // Over the API's own 1 MiB limit but under the proxy's; the echo upstream stops at 1 MiB,
  // so the upload goes to a plain socket that counts what arrives.
  asio::io_context io;
  tcp::acceptor counter(io, {asio::ip::make_address("127.0.0.1"), 0});
  closed_port_ = counter.local_endpoint().port();
  std::size_t received = 0;
  std::thread counting([&] {
    tcp::socket socket(io);
    counter.accept(socket);
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    request.body().reserve(6 << 20);
    http::request_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http::read(socket, buffer, parser);
    received = parser.get().body().size();
    http::response<http::string_body> reply{http::status::ok, 11};
    reply.body() = std::to_string(received);
    reply.prepare_payload();
    http::write(socket, reply);
  });
  std::string upload(5 * 1024 * 1024, 'u');
  auto up = call({"PUT", "/s/down/api/contents/f", upload, {}});
  counting.join();
  ASSERT_TRUE(up.ok()) << up.error().message;
  ASSERT_EQ(up->status, 200) << up->body;
  EXPECT_EQ(received, upload.size());
}

TEST_F(ProxyOverSockets, AnUpstreamThatIsDownGetsA502Page) {
  auto reply = call({"GET", "/s/down/tree", "", {}});
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(reply->status, 502);
  EXPECT_NE(reply->body.find("not reachable"), std::string::npos);
  EXPECT_NE(reply->header("Content-Type").find("text/html"), std::string::npos);
  auto after = call({"GET", "/api/v1/x", "", {}});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->body, "api") << "the gateway carries on";
}

}  // namespace
}  // namespace gpupool::gateway
