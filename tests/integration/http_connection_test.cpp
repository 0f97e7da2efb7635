// A kept connection (net::HttpConnection) against the gateway's server over real sockets, plain
// and TLS with a pin: calls share one connection; a connection the server closed, a server
// restarted, a reply that asks to close and an interrupted call all lead to a new one, and
// none of them fails a call that the server could answer.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "gateway/http_server.hpp"
#include "net/certificate_pin.hpp"
#include "net/http_client.hpp"
#include "net/self_signed.hpp"

namespace gpupool::gateway {
namespace {

using namespace std::chrono_literals;

class KeptConnection : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("gpupool-kept-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(directory_);
    ASSERT_TRUE(net::write_self_signed_certificate("127.0.0.1", certificate(), key()).ok());
  }
  void TearDown() override {
    if (server_) server_->stop();
    std::filesystem::remove_all(directory_);
  }

  std::string certificate() const { return directory_ / "server.crt"; }
  std::string key() const { return directory_ / "server.key"; }

  // (Re)starts the server on `port` (0: any), idle connections closed after `idle`.
  void start_server(std::uint16_t port, std::chrono::seconds idle, bool tls) {
    if (server_) server_->stop();
    server_ = std::make_unique<HttpServer>([](const HttpExchange& exchange) {
      return HttpReply{200, "text/plain", exchange.method + " " + exchange.path, {}, nullptr};
    });
    ServerLimits limits;
    limits.idle_time = idle;
    server_->set_limits(limits);
    if (tls) {
      ASSERT_TRUE(server_->use_tls(certificate(), key()).ok());
    }
    auto bound = server_->listen("127.0.0.1", port);
    ASSERT_TRUE(bound.ok()) << bound.error().message;
    port_ = *bound;
    server_->start(2);
  }

  net::HttpEndpoint endpoint(bool tls) const {
    net::HttpEndpoint endpoint{false, "", "127.0.0.1", port_};
    if (tls) {
      endpoint.tls = true;
      endpoint.pin = net::certificate_pin(certificate()).value();
    }
    return endpoint;
  }

  static void expect_answer(net::HttpConnection& connection, const std::string& path,
                            const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    auto response = connection.call({"POST", path, "{}", headers}, 5s);
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "POST " + path);
  }

  std::filesystem::path directory_;
  std::unique_ptr<HttpServer> server_;
  std::uint16_t port_ = 0;
};

TEST_F(KeptConnection, CallsShareOneConnectionPlainAndOverTls) {
  for (bool tls : {false, true}) {
    start_server(0, 60s, tls);
    net::HttpConnection connection(endpoint(tls));
    for (int i = 0; i < 5; ++i) expect_answer(connection, "/sync");
    EXPECT_EQ(connection.connections_opened(), 1) << (tls ? "tls" : "plain");
    EXPECT_EQ(server_->open_connections(), 1U);
  }
}

TEST_F(KeptConnection, AConnectionTheServerClosedIsReplacedWithoutAFailedCall) {
  start_server(0, 1s, true);
  net::HttpConnection connection(endpoint(true));
  expect_answer(connection, "/a");
  for (int i = 0; i < 100 && server_->open_connections() > 0; ++i)
    std::this_thread::sleep_for(50ms);
  ASSERT_EQ(server_->open_connections(), 0U) << "the server closed the idle connection";
  expect_answer(connection, "/b");
  EXPECT_EQ(connection.connections_opened(), 2);
}

TEST_F(KeptConnection, ARestartedServerIsReachedAgain) {
  start_server(0, 60s, true);
  net::HttpConnection connection(endpoint(true));
  expect_answer(connection, "/before");
  start_server(port_, 60s, true);
  expect_answer(connection, "/after");
  EXPECT_EQ(connection.connections_opened(), 2);
}

TEST_F(KeptConnection, AReplyThatClosesAndAnInterruptEachLeadToANewConnection) {
  start_server(0, 60s, false);
  net::HttpConnection connection(endpoint(false));
  expect_answer(connection, "/close", {{"Connection", "close"}});  // the server then closes
  expect_answer(connection, "/next");
  EXPECT_EQ(connection.connections_opened(), 2);

  net::CallInterrupter interrupter;
  interrupter.interrupt();
  auto cut =
      connection.call({"POST", "/cut", "{}", {}}, 5s, net::kDefaultResponseLimit, &interrupter);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().message.find("interrupted"), std::string::npos) << cut.error().message;
  interrupter.clear();
  auto again =
      connection.call({"POST", "/again", "{}", {}}, 5s, net::kDefaultResponseLimit, &interrupter);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->body, "POST /again");
  EXPECT_EQ(connection.connections_opened(), 3);
}

TEST_F(KeptConnection, AWrongPinIsRefusedOnEveryAttempt) {
  start_server(0, 60s, true);
  auto wrong = endpoint(true);
  wrong.pin = "sha256:" + std::string(64, '0');
  net::HttpConnection connection(wrong);
  for (int i = 0; i < 2; ++i) {
    auto response = connection.call({"POST", "/sync", "{}", {}}, 5s);
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.error().code, ErrorCode::unauthorized);
  }
}

}  // namespace
}  // namespace gpupool::gateway
