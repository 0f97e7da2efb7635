// Held replies (a long poll) over real sockets: answered when ready or when their wait passes,
// released when their client hangs up, answered at once when the server drains; and the
// client's interrupter ending a held call from another thread.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "gateway/http_server.hpp"
#include "net/http_client.hpp"

namespace gpupool::gateway {
namespace {

using namespace std::chrono_literals;

// What the test sees of the one held reply under way.
struct HeldProbe {
  std::mutex mutex;
  std::condition_variable changed;
  std::function<void()> ready;  // set once the server has started the wait
  bool made = false;            // reply() was asked for
  bool alive = false;           // the server still holds the reply

  bool wait_for(const std::function<bool()>& done) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 5s, done);
  }
};

class ProbedReply final : public PendingReply {
 public:
  ProbedReply(HeldProbe& probe, std::chrono::milliseconds wait) : probe_(probe), wait_(wait) {
    std::lock_guard lock(probe_.mutex);
    probe_.alive = true;
  }
  ~ProbedReply() override {
    {
      std::lock_guard lock(probe_.mutex);
      probe_.alive = false;
      probe_.ready = nullptr;
    }
    probe_.changed.notify_all();
  }
  std::chrono::milliseconds wait() const override { return wait_; }
  void start(std::function<void()> ready) override {
    {
      std::lock_guard lock(probe_.mutex);
      probe_.ready = std::move(ready);
    }
    probe_.changed.notify_all();
  }
  HttpReply reply() override {
    std::lock_guard lock(probe_.mutex);
    probe_.made = true;
    probe_.changed.notify_all();
    return {200, "text/plain", readied_ ? "ready" : "wait passed", {}};
  }
  void mark_ready() { readied_ = true; }

 private:
  HeldProbe& probe_;
  std::chrono::milliseconds wait_;
  std::atomic<bool> readied_{false};
};

class HeldReplies : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<HttpServer>([this](const HttpExchange& exchange) {
      HttpReply reply;
      auto held = std::make_shared<ProbedReply>(
          probe_, exchange.query == "short" ? std::chrono::milliseconds(100) : 30s);
      held_ = held;
      reply.pending = held;
      return reply;
    });
    auto port = server_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok());
    port_ = *port;
    server_->start(2);
  }
  void TearDown() override { server_->stop(); }

  std::future<Result<net::HttpResponse>> call_async(const std::string& target,
                                                    net::CallInterrupter* interrupter = nullptr) {
    return std::async(std::launch::async, [this, target, interrupter] {
      return net::http_call({false, "", "127.0.0.1", port_}, {"GET", target, "", {}}, 20s,
                            net::kDefaultResponseLimit, interrupter);
    });
  }

  bool held_now() {
    return probe_.wait_for([this] { return probe_.ready != nullptr; });
  }

  HeldProbe probe_;
  std::weak_ptr<ProbedReply> held_;
  std::unique_ptr<HttpServer> server_;
  std::uint16_t port_ = 0;
};

TEST_F(HeldReplies, AHeldRequestIsAnsweredWhenItsReplyIsReady) {
  auto answer = call_async("/held");
  ASSERT_TRUE(held_now());
  EXPECT_EQ(answer.wait_for(300ms), std::future_status::timeout);  // held, no answer yet
  EXPECT_FALSE(probe_.made);
  if (auto held = held_.lock()) held->mark_ready();
  std::function<void()> ready;
  {
    std::lock_guard lock(probe_.mutex);
    ready = probe_.ready;
  }
  ready();
  ready();                                                    // more than once is harmless
  ASSERT_EQ(answer.wait_for(5s), std::future_status::ready);  // long before its 30 s wait
  auto response = answer.get();
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->body, "ready");
  EXPECT_TRUE(probe_.wait_for([this] { return !probe_.alive; }));
}

TEST_F(HeldReplies, AHeldRequestIsAnsweredWhenItsWaitPasses) {
  auto response = call_async("/held?short").get();
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->body, "wait passed");
}

TEST_F(HeldReplies, AClientThatHangsUpReleasesItsHeldReply) {
  net::CallInterrupter interrupter;
  auto answer = call_async("/held", &interrupter);
  ASSERT_TRUE(held_now());
  interrupter.interrupt();  // from another thread, as an agent's wake does
  ASSERT_EQ(answer.wait_for(5s), std::future_status::ready);
  auto response = answer.get();
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.error().message.find("interrupted"), std::string::npos);
  // The server noticed the hang-up: the reply is let go without being made.
  EXPECT_TRUE(probe_.wait_for([this] { return !probe_.alive; }));
  EXPECT_FALSE(probe_.made);
}

TEST_F(HeldReplies, AnInterruptJustBeforeACallEndsThatCallUntilCleared) {
  net::CallInterrupter interrupter;
  interrupter.interrupt();
  auto response = call_async("/held?short", &interrupter).get();
  EXPECT_FALSE(response.ok());
  interrupter.clear();
  response = call_async("/held?short", &interrupter).get();
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->body, "wait passed");
}

TEST_F(HeldReplies, DrainingAnswersHeldRequestsAtOnce) {
  auto answer = call_async("/held");
  ASSERT_TRUE(held_now());
  std::thread drainer([this] { server_->drain(10s); });
  ASSERT_EQ(answer.wait_for(5s), std::future_status::ready);
  drainer.join();
  auto response = answer.get();
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->body, "wait passed");
}

TEST_F(HeldReplies, AHeldReplyKeepsItsConnectionForTheNextRequest) {
  net::HttpConnection connection({false, "", "127.0.0.1", port_});
  for (int i = 0; i < 3; ++i) {
    auto response = connection.call({"GET", "/held?short", "", {}}, 5s);
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->body, "wait passed");
  }
  EXPECT_EQ(connection.connections_opened(), 1);

  // Readied before its wait passes, on the same connection.
  auto answer = std::async(std::launch::async, [&] {
    return connection.call({"GET", "/held", "", {}}, 20s);
  });
  ASSERT_TRUE(held_now());
  if (auto held = held_.lock()) held->mark_ready();
  std::function<void()> ready;
  {
    std::lock_guard lock(probe_.mutex);
    ready = probe_.ready;
  }
  ready();
  auto response = answer.get();
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->body, "ready");
  EXPECT_EQ(connection.connections_opened(), 1);

  // A client that hangs up while held on a kept connection is still noticed.
  {
    std::lock_guard lock(probe_.mutex);
    probe_.made = false;
  }
  net::CallInterrupter interrupter;
  auto cut = std::async(std::launch::async, [&] {
    return connection.call({"GET", "/held", "", {}}, 20s, net::kDefaultResponseLimit, &interrupter);
  });
  ASSERT_TRUE(probe_.wait_for([this] { return probe_.ready != nullptr && !probe_.made; }));
  interrupter.interrupt();
  EXPECT_FALSE(cut.get().ok());
  EXPECT_TRUE(probe_.wait_for([this] { return !probe_.alive; }));
  EXPECT_FALSE(probe_.made);
}

}  // namespace
}  // namespace gpupool::gateway
