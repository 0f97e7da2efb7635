// Notifications by e-mail: the mails' text (nothing a user sends can add a header or end the
// message), confirming an address with a mailed code, mailing and retrying notices, and the
// balance-low notice (told once until the balance rises again).
#include <gtest/gtest.h>

#include <regex>

#include <nlohmann/json.hpp>

#include "api_fixture.hpp"
#include "core/base64.hpp"
#include "model/price.hpp"
#include "services/email_sender.hpp"
#include "services/mail_text.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;
using services::MailMessage;

TEST(MailText, OnlyPlainMailboxesAreAddresses) {
  for (const char* good : {"ada@lab.example.org", "a.b+gpu@x-y.example", "o'neil@example.org"})
    EXPECT_TRUE(services::check_email_address(good).ok()) << good;
  for (const char* bad :
       {"", "ada", "ada@", "@example.org", "ada@localhost", "ada@lab.example.org\r\nBcc: x@y.org",
        "ada lovelace@example.org", "ada@@example.org", "ada.@example.org", "a..b@example.org",
        "ada@-lab.example.org", "ada@[10.0.0.1]", "\"ada\"@example.org", "ädä@example.org",
        "ada@example.org>", "<ada@example.org"})
    EXPECT_FALSE(services::check_email_address(bad).ok()) << bad;
  EXPECT_FALSE(services::check_email_address(std::string(65, 'a') + "@example.org").ok());
}

std::string header_of(const std::string& text, const std::string& name) {
  std::smatch match;
  std::regex line("(^|\r\n)" + name + ": ([^\r\n]*(\r\n [^\r\n]*)*)");
  return std::regex_search(text, match, line) ? match[2].str() : "";
}

TEST(MailText, ASubjectCannotAddAHeaderAndTheBodyCannotEndTheMessage) {
  MailMessage message{"gpupool@pool.example", "ada@example.org",
                      "Session s1 ended\r\nBcc: everyone@example.org", "fine\n.\nQUIT\n"};
  std::string text = services::mail_text(message, 1'800'000'000'000, "abc");
  EXPECT_EQ(text.find("\r\nBcc:"), std::string::npos);
  EXPECT_EQ(header_of(text, "Subject"), "Session s1 ended  Bcc: everyone@example.org");
  EXPECT_EQ(header_of(text, "Date"), "Fri, 15 Jan 2027 08:00:00 +0000");
  EXPECT_EQ(header_of(text, "Message-ID"), "<abc@pool.example>");
  EXPECT_EQ(header_of(text, "Content-Transfer-Encoding"), "base64") << "a lone dot line";
  EXPECT_EQ(text.find("\r\n.\r\n"), std::string::npos);
  EXPECT_EQ(text.find('\n', 0), text.find("\r\n") + 1) << "CRLF lines";

  message.body = "plain words\nnext line";
  text = services::mail_text(message, 0, "id");
  EXPECT_EQ(header_of(text, "Content-Transfer-Encoding"), "7bit");
  EXPECT_NE(text.find("\r\n\r\nplain words\r\nnext line\r\n"), std::string::npos);
}

TEST(MailText, AWordySubjectIsEncodedAndFoldedOnWholeCharacters) {
  MailMessage message{"gpupool@pool.example", "ada@example.org",
                      "会话 s1 已结束：" + std::string(40, 'x') + "会话会话会话", "正文"};
  std::string text = services::mail_text(message, 0, "id");
  std::string subject = header_of(text, "Subject");
  EXPECT_TRUE(subject.starts_with("=?utf-8?B?")) << subject;
  EXPECT_NE(subject.find("?=\r\n =?utf-8?B?"), std::string::npos) << "folded";
  EXPECT_EQ(header_of(text, "Content-Transfer-Encoding"), "base64");
  std::string::size_type at = 0;
  while ((at = subject.find("=?utf-8?B?", at)) != std::string::npos) {
    auto end = subject.find("?=", at);
    auto word = base64_decode(subject.substr(at + 10, end - at - 10));
    ASSERT_TRUE(word.has_value());
    EXPECT_NE(static_cast<unsigned char>(word->front()) & 0xc0, 0x80) << "starts a character";
    at = end;
  }
}

// Records each mail; fails while `down`.
struct Outbox {
  std::vector<std::pair<std::string, std::string>> sent;  // to, text
  bool down = false;
  services::MailSend function() {
    return [this](const std::string& to, const std::string& text) -> Status {
      if (down) return make_error(ErrorCode::unavailable, "the SMTP server: connection refused");
      sent.emplace_back(to, text);
      return {};
    };
  }
  std::string code_in_last() const {
    std::smatch match;
    std::regex code("\r\n    ([0-9]{8})\r\n");
    return std::regex_search(sent.back().second, match, code) ? match[1].str() : "";
  }
};

using Email = ServiceFixture;

TEST_F(Email, AnAddressIsUsedOnlyOnceTheCodeMailedToItIsEntered) {
  Outbox outbox;
  services::EmailSender sender(*store_, clock_, {"gpupool@pool.example", "https://pool.example"},
                               outbox.function());
  NotifySettings settings{alice_.id, "ada@example.org"};
  ASSERT_TRUE(store_->set_notify_settings(settings).ok());
  Notification early{0, alice_.id, clock_.now(), NotificationKind::session_ended, "s0", "m", "{}"};
  ASSERT_TRUE(store_->add_notification(early).ok());

  outbox.down = true;
  EXPECT_EQ(*sender.deliver_due(), 1) << "the code's mailing fails";
  EXPECT_EQ(store_->notify_settings(alice_.id)->email_code_error,
            "the SMTP server: connection refused");
  EXPECT_EQ(
      services::confirm_email(*store_->notify_settings(alice_.id), "1", clock_.now()).error().code,
      ErrorCode::conflict);
  outbox.down = false;
  EXPECT_EQ(*sender.deliver_due(), 0) << "tried again 5 min later";
  clock_.advance(5 * 60'000);
  EXPECT_EQ(*sender.deliver_due(), 1);
  ASSERT_EQ(outbox.sent.size(), 1u);
  std::string code = outbox.code_in_last();
  ASSERT_EQ(code.size(), 8u);
  EXPECT_EQ(store_->notify_settings(alice_.id)->email_code_hash.find(code), std::string::npos)
      << "only a hash is kept";

  auto wrong = services::confirm_email(*store_->notify_settings(alice_.id),
                                       code == "00000000" ? "11111111" : "00000000", clock_.now());
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(wrong->confirmed);
  EXPECT_EQ(wrong->settings.email_code_tries, 1);
  NotifySettings five_wrong = wrong->settings;
  five_wrong.email_code_tries = services::kMaxConfirmationTries;
  EXPECT_EQ(services::confirm_email(five_wrong, code, clock_.now()).error().code,
            ErrorCode::conflict)
      << "not even the right code after five wrong ones";
  EXPECT_EQ(services::confirm_email(wrong->settings, code,
                                    clock_.now() + services::kConfirmationLifetime + 1)
                .error()
                .code,
            ErrorCode::conflict)
      << "expired";
  NotifySettings elsewhere = wrong->settings;
  elsewhere.email = "eve@example.org";
  EXPECT_FALSE(services::confirm_email(elsewhere, code, clock_.now())->confirmed)
      << "the code is bound to its address";
  auto right = services::confirm_email(wrong->settings, code, clock_.now());
  ASSERT_TRUE(right.ok() && right->confirmed);
  ASSERT_TRUE(store_->set_notify_settings(right->settings).ok());

  Notification later{0,
                     alice_.id,
                     clock_.now(),
                     NotificationKind::session_ended,
                     "s1",
                     "Session s1 ended: stopped by an administrator",
                     "{}"};
  ASSERT_TRUE(store_->add_notification(later).ok());
  EXPECT_EQ(*sender.deliver_due(), 1) << "only what came after the confirmation";
  EXPECT_EQ(outbox.sent.back().first, "ada@example.org");
  EXPECT_NE(outbox.sent.back().second.find("Subject: [gpupool] Session s1 ended"),
            std::string::npos);
  EXPECT_NE(outbox.sent.back().second.find("Hello alice,"), std::string::npos);
}

TEST_F(Email, ChangingTheThresholdKeepsAFailedCodesRetryTime) {
  Outbox outbox;
  services::EmailSender sender(*store_, clock_, {"gpupool@pool.example", ""}, outbox.function());
  ASSERT_TRUE(store_->set_notify_settings({alice_.id, "ada@example.org"}).ok());
  outbox.down = true;
  EXPECT_EQ(*sender.deliver_due(), 1);
  auto settings = *store_->notify_settings(alice_.id);
  settings.balance_low_micros = 5;
  ASSERT_TRUE(store_->set_notify_settings(settings).ok());
  outbox.down = false;
  EXPECT_EQ(*sender.deliver_due(), 0) << "still 5 min later";
  settings.email = "ada@elsewhere.example.org";
  ASSERT_TRUE(store_->set_notify_settings(settings).ok());
  EXPECT_EQ(*sender.deliver_due(), 1) << "a new address: its code at once";
}

TEST_F(Email, NoticesAreRetriedWithBackOffAndAChangedAddressDropsThem) {
  Outbox outbox;
  services::EmailSender sender(*store_, clock_, {"gpupool@pool.example", ""}, outbox.function());
  NotifySettings settings{alice_.id, "ada@example.org", true};
  ASSERT_TRUE(store_->set_notify_settings(settings).ok());
  Notification notice{0, alice_.id, clock_.now(), NotificationKind::idle_warning, "s1", "m", "{}"};
  ASSERT_TRUE(store_->add_notification(notice).ok());
  outbox.down = true;
  EXPECT_EQ(*sender.deliver_due(), 1);
  EXPECT_EQ(*sender.deliver_due(), 0) << "10 s later";
  clock_.advance(10'000);
  outbox.down = false;
  EXPECT_EQ(*sender.deliver_due(), 1);
  EXPECT_EQ(outbox.sent.size(), 1u);

  outbox.down = true;
  Notification another{0, alice_.id, clock_.now(), NotificationKind::idle_warning, "s2", "m", "{}"};
  ASSERT_TRUE(store_->add_notification(another).ok());
  EXPECT_EQ(*sender.deliver_due(), 1);
  settings.email = "ada@elsewhere.example.org";
  settings.email_confirmed = false;
  ASSERT_TRUE(store_->set_notify_settings(settings).ok());
  outbox.down = false;
  clock_.advance(3'600'000);
  EXPECT_EQ(*sender.deliver_due(), 1) << "only the new address's code";
  EXPECT_EQ(outbox.sent.back().first, "ada@elsewhere.example.org");
  EXPECT_NE(outbox.sent.back().second.find("confirmation code"), std::string::npos);
}

class BalanceLow : public ServiceFixture {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_->set_price({"A100-80GB", 3600 * kMicrosPerCredit, clock_.now()}).ok());
    top_up(20, "first");
  }
  void top_up(int credits, const std::string& key) {
    LedgerEntry entry{
        0, alice_.id, clock_.now(), LedgerKind::top_up, credits * kMicrosPerCredit, "", key, ""};
    ASSERT_TRUE(store_->add_ledger_entry(entry).ok());
  }
  int told() {
    auto notices = store_->notifications(alice_.id, 100);
    EXPECT_TRUE(notices.ok());
    if (!notices) return -1;
    int count = 0;
    for (const auto& notice : *notices) count += notice.kind == NotificationKind::balance_low;
    return count;
  }
};

TEST_F(BalanceLow, TheOwnerIsToldOnceBelowTheirThresholdAndAgainAfterATopUp) {
  NotifySettings settings{alice_.id};
  settings.balance_low_micros = 10 * kMicrosPerCredit;
  ASSERT_TRUE(store_->set_notify_settings(settings).ok());
  Session session = request(alice_, 1);  // 1 credit a second
  sync({observed(session.id, ObservedPhase::running)});
  clock_.advance(9'000);
  sync({observed(session.id, ObservedPhase::running)});
  EXPECT_EQ(told(), 0) << "11 credits left";
  clock_.advance(2'000);
  sync({observed(session.id, ObservedPhase::running)});
  ASSERT_EQ(told(), 1);
  auto notice = store_->notifications(alice_.id, 1)->front();
  EXPECT_NE(notice.message.find("down to 9.00 credits, below your threshold of 10.00"),
            std::string::npos)
      << notice.message;
  EXPECT_EQ(json::parse(notice.data)["credits_per_hour"], 3600.0);
  clock_.advance(2'000);
  sync({observed(session.id, ObservedPhase::running)});
  EXPECT_EQ(told(), 1) << "once";
  top_up(100, "second");
  sync({observed(session.id, ObservedPhase::running)});
  EXPECT_FALSE(store_->notify_settings(alice_.id)->balance_low_told) << "above again";
  clock_.advance(100'000);
  sync({observed(session.id, ObservedPhase::running)});
  EXPECT_EQ(told(), 2);
}

TEST_F(BalanceLow, TheServersDefaultHoldsForWhoChoseNoneAndZeroTurnsItOff) {
  services::SessionSettings with_default;
  with_default.balance_low_micros = 15 * kMicrosPerCredit;
  sessions_ = std::make_unique<services::SessionService>(*store_, clock_, with_default);
  Session session = request(alice_, 1);
  sync({observed(session.id, ObservedPhase::running)});
  clock_.advance(6'000);
  sync({observed(session.id, ObservedPhase::running)});
  EXPECT_EQ(told(), 1) << "14 credits: below the server's 15";

  NotifySettings off{alice_.id};
  off.balance_low_micros = 0;
  ASSERT_TRUE(store_->set_notify_settings(off).ok());
  top_up(100, "second");
  sync({observed(session.id, ObservedPhase::running)});
  clock_.advance(110'000);
  sync({observed(session.id, ObservedPhase::running)});
  EXPECT_EQ(told(), 1) << "the owner turned it off";
}

using EmailApi = Api;

TEST_F(EmailApi, UsersSetAddressesOnlyWhereTheServerMailsAndAdminsVouchForThem) {
  auto token = token_for("alice");
  auto refused = call("PUT", "/api/v1/me/notify", R"({"email": "ada@example.org"})",
                      {{"Authorization", "Bearer " + token}});
  EXPECT_EQ(refused.status, 503) << refused.body;
  auto settings = api::ApiSettings(plain_settings(telemetry_));
  settings.sends_email = true;
  api::Api mailing(settings, *auth_, *sessions_, *store_, clock_);
  auto put = [&](const std::string& body, const std::string& who = "alice") {
    return call("PUT", "/api/v1/me/notify", body, {{"Authorization", "Bearer " + token_for(who)}},
                &mailing);
  };
  EXPECT_EQ(put(R"({"email": "ada@example.org\r\nBcc: x@example.org"})").status, 400);
  EXPECT_EQ(put(R"({"email": 7})").status, 400);
  EXPECT_EQ(put(R"({"sms": "+1"})").status, 400);
  EXPECT_EQ(put(R"({"balance_low_credits": "ten"})").status, 400);
  auto set = put(R"({"email": "ada@example.org", "balance_low_credits": 12.5})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(json::parse(set.body)["email_state"], "code_pending");
  EXPECT_EQ(json::parse(set.body)["balance_low_credits"], 12.5);
  EXPECT_EQ(json::parse(put(R"({"balance_low_credits": null})").body)["balance_low_credits"],
            nullptr);
  EXPECT_EQ(store_->notify_settings(alice_.id)->email, "ada@example.org") << "kept";

  auto vouched = call("PUT", "/api/v1/users/bob/notify", R"({"email": "bob@example.org"})",
                      {{"Authorization", "Bearer " + token_for("root-admin")}}, &mailing);
  ASSERT_EQ(vouched.status, 200) << vouched.body;
  EXPECT_EQ(json::parse(vouched.body)["email_state"], "confirmed");
  EXPECT_EQ(call("PUT", "/api/v1/users/bob/notify", R"({"email": "eve@example.org"})",
                 {{"Authorization", "Bearer " + token}}, &mailing)
                .status,
            403);
}

}  // namespace
}  // namespace gpupool::testing
