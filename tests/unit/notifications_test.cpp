// Notifications: which changes tell a session's owner, posting them to webhooks (signed,
// retried with back-off, given up), where a webhook may point, and the API over them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api_fixture.hpp"
#include "net/webhook_target.hpp"
#include "services/webhook_sender.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;

constexpr UnixMillis kMinute = 60 * 1000;

std::vector<Notification> notices_of(Store& store, const User& user) {
  auto found = store.notifications(user.id, 100);
  EXPECT_TRUE(found.ok());
  return found.ok() ? *found : std::vector<Notification>{};
}

using Notices = ServiceFixture;

TEST_F(Notices, OwnersAreToldOfWarningsOfStartsAfterAWaitAndOfEndsTheyDidNotCause) {
  Session session = request(alice_, 1);
  clock_.advance(2 * kMinute);  // waited in the queue (or for its image)
  sync({observed(session.id, ObservedPhase::running)});
  auto told = notices_of(*store_, alice_);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].kind, NotificationKind::session_started);
  EXPECT_EQ(told[0].session_id, session.id);
  EXPECT_NE(told[0].message.find("2 min after it was requested"), std::string::npos);

  ObservedSession quiet = observed(session.id, ObservedPhase::running);
  quiet.activity = SessionActivity{0.0, 0, 0, 0, 0, std::nullopt, 0};
  for (int i = 0; i < 30; ++i) {  // warned at 2 h, stopping 15 min later
    clock_.advance(5 * kMinute);
    sync({quiet});
  }
  told = notices_of(*store_, alice_);
  ASSERT_GE(told.size(), 2u);
  EXPECT_EQ(told[told.size() - 2].kind, NotificationKind::idle_warning);
  EXPECT_EQ(json::parse(told[told.size() - 2].data)["session"], session.id);
  sync({});  // reclaimed: its container is gone
  told = notices_of(*store_, alice_);
  EXPECT_EQ(told.front().kind, NotificationKind::session_ended);
  EXPECT_EQ(json::parse(told.front().data)["end_reason"], "idle_reclaimed");

  Session quick = request(bob_, 1);
  sync({observed(quick.id, ObservedPhase::running)});
  ASSERT_TRUE(sessions_->stop_session(bob_, quick.id).ok());
  sync({});
  EXPECT_TRUE(notices_of(*store_, bob_).empty()) << "started at once, stopped by its owner";
  Session stopped = request(bob_, 1);
  ASSERT_TRUE(sessions_->stop_session(admin_, stopped.id).ok());
  sync({});
  ASSERT_EQ(notices_of(*store_, bob_).size(), 1u);
  EXPECT_EQ(json::parse(notices_of(*store_, bob_)[0].data)["end_reason"], "admin_stopped");
}

// Records each posting; answers what the test says.
struct RecordingPost {
  std::vector<std::tuple<std::string, services::Headers, std::string>> posted;
  std::vector<Result<int>> answers;  // taken front first; then 204
  services::WebhookPost function() {
    return [this](const std::string& url, const services::Headers& headers,
                  const std::string& body) -> Result<int> {
      posted.emplace_back(url, headers, body);
      if (answers.empty()) return 204;
      Result<int> answer = answers.front();
      answers.erase(answers.begin());
      return answer;
    };
  }
};

std::string header(const services::Headers& headers, const std::string& name) {
  for (const auto& [key, value] : headers)
    if (key == name) return value;
  return "";
}

TEST_F(Notices, WebhooksGetSignedPostingsRetriedWithBackOffUntilAnswered) {
  ASSERT_TRUE(store_->set_webhook({alice_.id, "https://hooks.example/alice", "s3cret"}).ok());
  RecordingPost post;
  post.answers = {make_error(ErrorCode::unavailable, "connection refused"), 500};
  services::WebhookSender sender(*store_, clock_, post.function());
  Notification first{0, alice_.id, clock_.now(), NotificationKind::idle_warning, "s1", "m", "{}"};
  ASSERT_TRUE(store_->add_notification(first).ok());
  Notification for_bob{0, bob_.id, clock_.now(), NotificationKind::session_ended, "s2", "m", "{}"};
  ASSERT_TRUE(store_->add_notification(for_bob).ok());

  EXPECT_EQ(*sender.deliver_due(), 1) << "Bob has no webhook";
  auto [url, headers, body] = post.posted.at(0);
  EXPECT_EQ(url, "https://hooks.example/alice");
  EXPECT_EQ(header(headers, "X-Gpupool-Event"), "idle_warning");
  EXPECT_EQ(header(headers, "X-Gpupool-Signature"),
            services::webhook_signature("s3cret", header(headers, "X-Gpupool-Timestamp"), body));
  EXPECT_NE(header(headers, "X-Gpupool-Signature"),
            services::webhook_signature("other", header(headers, "X-Gpupool-Timestamp"), body));
  auto document = json::parse(body);
  EXPECT_EQ(document["user"], "alice");
  EXPECT_EQ(document["kind"], "idle_warning");

  EXPECT_EQ(*sender.deliver_due(), 0) << "the retry waits 10 s";
  clock_.advance(10'000);
  EXPECT_EQ(*sender.deliver_due(), 1);  // answered 500
  clock_.advance(10'000);
  EXPECT_EQ(*sender.deliver_due(), 0) << "then 20 s";
  clock_.advance(10'000);
  EXPECT_EQ(*sender.deliver_due(), 1);  // 204: delivered
  clock_.advance(3'600'000);
  EXPECT_EQ(*sender.deliver_due(), 0) << "delivered once";
  EXPECT_EQ(post.posted.size(), 3u);
}

TEST_F(Notices, APostingIsGivenUpAfterTwelveAttemptsAndARemovedWebhookGetsNothing) {
  EXPECT_EQ(services::delivery_retry_at(1, 0), 10'000);
  EXPECT_EQ(services::delivery_retry_at(3, 0), 40'000);
  EXPECT_EQ(services::delivery_retry_at(11, 0), 3'600'000) << "at most an hour apart";
  EXPECT_EQ(services::delivery_retry_at(12, 0), 0);

  ASSERT_TRUE(store_->set_webhook({alice_.id, "https://hooks.example/a", "k"}).ok());
  RecordingPost post;
  for (int i = 0; i < 20; ++i) post.answers.push_back(503);
  services::WebhookSender sender(*store_, clock_, post.function());
  Notification notice{0, alice_.id, clock_.now(), NotificationKind::session_ended, "s", "m", "{}"};
  ASSERT_TRUE(store_->add_notification(notice).ok());
  for (int i = 0; i < 30; ++i) {
    (void)sender.deliver_due();
    clock_.advance(3'600'000);
  }
  EXPECT_EQ(post.posted.size(), 12u);

  Notification later{0, alice_.id, clock_.now(), NotificationKind::session_ended, "s", "m", "{}"};
  ASSERT_TRUE(store_->add_notification(later).ok());
  ASSERT_TRUE(*store_->delete_webhook(alice_.id));
  EXPECT_EQ(*sender.deliver_due(), 0);
}

TEST_F(Notices, AReceiverThatFailsIsNotTriedAgainInThePassSoOthersAreNotHeldUp) {
  ASSERT_TRUE(store_->set_webhook({alice_.id, "https://down.example/a", "k"}).ok());
  ASSERT_TRUE(store_->set_webhook({bob_.id, "https://up.example/b", "k"}).ok());
  RecordingPost post;
  post.answers = {make_error(ErrorCode::unavailable, "timed out")};
  services::WebhookSender sender(*store_, clock_, post.function());
  for (int i = 0; i < 5; ++i) {
    Notification notice{0,   alice_.id, clock_.now(), NotificationKind::session_ended,
                        "s", "m",       "{}"};
    ASSERT_TRUE(store_->add_notification(notice).ok());
  }
  Notification for_bob{0, bob_.id, clock_.now(), NotificationKind::session_ended, "s", "m", "{}"};
  ASSERT_TRUE(store_->add_notification(for_bob).ok());
  EXPECT_EQ(*sender.deliver_due(), 2) << "one attempt at the dead receiver, then Bob's";
  EXPECT_EQ(std::get<0>(post.posted.back()), "https://up.example/b");
  EXPECT_EQ(*sender.deliver_due(), 4) << "Alice's other postings: the next pass";
}

TEST(WebhookTarget, OnlyHttpUrlsToPublicAddressesUnlessAnAdminAllowsABlock) {
  auto url = net::parse_webhook_url("https://hooks.example.org:8443/path/x?token=1");
  ASSERT_TRUE(url.ok());
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "hooks.example.org");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->target, "/path/x?token=1");
  EXPECT_EQ(net::parse_webhook_url("http://hooks.example.org")->target, "/");
  for (const char* bad :
       {"ftp://example.org/", "hooks.example.org/x", "http://user:pw@example.org/",
        "http://example.org/#frag", "http://[::1]/", "http:///x", "http://exa_mple.org/",
        "http://example.org:0/"})
    EXPECT_FALSE(net::parse_webhook_url(bad).ok()) << bad;
  EXPECT_FALSE(net::parse_webhook_url("http://x.org/" + std::string(2000, 'a')).ok());

  auto address = [](const char* text) { return *parse_ipv4(text); };
  for (const char* refused : {"127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1",
                              "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1"})
    EXPECT_FALSE(net::webhook_address_allowed(address(refused), {})) << refused;
  EXPECT_TRUE(net::webhook_address_allowed(address("93.184.216.34"), {}));
  EXPECT_TRUE(
      net::webhook_address_allowed(address("10.1.2.3"), {*parse_ipv4_block("10.1.0.0/16")}));

  auto local = net::resolve_webhook_host("127.0.0.1", {});
  ASSERT_FALSE(local.ok());
  EXPECT_EQ(local.error().code, ErrorCode::forbidden);
  EXPECT_NE(local.error().message.find("--webhook-allow"), std::string::npos);
  EXPECT_TRUE(net::resolve_webhook_host("127.0.0.1", {*parse_ipv4_block("127.0.0.0/8")}).ok());
}

TEST_F(Api, UsersReadTheirNotificationsAndSetAWebhookWhoseSecretIsShownOnce) {
  auto alice = token_for("alice");
  auto bob = token_for("bob");
  Notification notice{0,
                      alice_.id,
                      clock_.now(),
                      NotificationKind::session_ended,
                      "s1",
                      "ended",
                      R"({"end_reason":"failed"})"};
  ASSERT_TRUE(store_->add_notification(notice).ok());
  auto listed = json::parse(as(alice, "GET", "/api/v1/notifications").body);
  EXPECT_EQ(listed["unread"], 1);
  EXPECT_EQ(listed["notifications"][0]["kind"], "session_ended");
  EXPECT_EQ(listed["notifications"][0]["data"]["end_reason"], "failed");
  EXPECT_EQ(json::parse(as(bob, "GET", "/api/v1/notifications").body)["unread"], 0);
  EXPECT_EQ(as(alice, "GET", "/api/v1/notifications?limit=0").status, 400);
  EXPECT_EQ(as(alice, "POST", "/api/v1/notifications/read", "{}").status, 400);
  auto read = as(alice, "POST", "/api/v1/notifications/read",
                 json{{"up_to", listed["notifications"][0]["id"]}}.dump());
  EXPECT_EQ(json::parse(read.body)["unread"], 0);

  EXPECT_EQ(as(alice, "GET", "/api/v1/me/webhook").status, 404);
  EXPECT_EQ(as(alice, "PUT", "/api/v1/me/webhook", R"({"url":"ftp://x.org/"})").status, 400);
  auto refused =
      as(alice, "PUT", "/api/v1/me/webhook", R"({"url":"http://169.254.169.254/latest"})");
  EXPECT_EQ(refused.status, 403) << refused.body;
  auto set = as(alice, "PUT", "/api/v1/me/webhook", R"({"url":"http://93.184.216.34/hook"})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(json::parse(set.body)["secret"].get<std::string>().size(), 43u);
  auto shown = json::parse(as(alice, "GET", "/api/v1/me/webhook").body);
  EXPECT_EQ(shown, json({{"url", "http://93.184.216.34/hook"}})) << "never the secret again";
  EXPECT_EQ(as(alice, "DELETE", "/api/v1/me/webhook").status, 200);
  EXPECT_EQ(as(alice, "DELETE", "/api/v1/me/webhook").status, 404);
}

}  // namespace
}  // namespace gpupool::testing

namespace gpupool::testing {
namespace {

TEST_F(Notices, TheOwnerIsToldOnceAQuarterOfAnHourBeforeTheTimeLimit) {
  SessionRequest request;
  request.gpus = 1;
  request.max_hours = 1;
  auto session = sessions_->request_session(alice_, request);
  ASSERT_TRUE(session.ok());
  sync({observed(session->id, ObservedPhase::running)});
  auto kinds = [&] {
    std::vector<NotificationKind> found;
    for (const auto& notice : notices_of(*store_, alice_)) found.push_back(notice.kind);
    return found;
  };
  clock_.advance(44 * kMinute);
  sync({observed(session->id, ObservedPhase::running)});
  EXPECT_TRUE(kinds().empty());
  clock_.advance(2 * kMinute);
  sync({observed(session->id, ObservedPhase::running)});
  ASSERT_EQ(kinds(), std::vector<NotificationKind>{NotificationKind::time_limit_near});
  EXPECT_NE(notices_of(*store_, alice_)[0].message.find("reaches its time limit at"),
            std::string::npos);
  clock_.advance(5 * kMinute);
  sync({observed(session->id, ObservedPhase::running)});
  EXPECT_EQ(kinds().size(), 1u) << "told once";
  clock_.advance(10 * kMinute);
  sync({observed(session->id, ObservedPhase::running)});
  EXPECT_EQ(fetch(session->id).state, SessionState::stopping);
  sync({});
  EXPECT_EQ(kinds().front(), NotificationKind::session_ended);
}

}  // namespace
}  // namespace gpupool::testing
