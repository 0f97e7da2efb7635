#include "services/email_sender.hpp"

#include <sodium.h>

#include <fmt/format.h>

#include "core/log.hpp"
#include "core/random.hpp"
#include "services/delivery_retry.hpp"
#include "services/mail_text.hpp"

namespace gpupool::services {

namespace {

constexpr int kBatch = 64;
constexpr UnixMillis kConfirmationRetry = 5 * 60 * 1000;
constexpr std::size_t kMaxError = 300;

}  // namespace

std::string new_confirmation_code() {
  return fmt::format("{:08}", randombytes_uniform(100'000'000));
}

std::string confirmation_code_hash(std::int64_t user_id, const std::string& address,
                                   std::string_view code) {
  return digest_hex(fmt::format("email-confirmation\n{}\n{}\n{}", user_id, address, code));
}

Result<ConfirmationOutcome> confirm_email(NotifySettings settings, std::string_view code,
                                          UnixMillis now) {
  if (settings.email.empty() || settings.email_confirmed)
    return Error{ErrorCode::conflict, "no e-mail address is waiting for confirmation"};
  if (settings.email_code_sent_at == 0)
    return Error{ErrorCode::conflict,
                 settings.email_code_error.empty()
                     ? "the code has not been mailed yet; try again in a minute"
                     : "the code could not be mailed: " + settings.email_code_error};
  if (settings.email_code_tries >= kMaxConfirmationTries)
    return Error{ErrorCode::conflict, "too many wrong codes: set the address again for a new one"};
  if (now - settings.email_code_sent_at > kConfirmationLifetime)
    return Error{ErrorCode::conflict, "the code has expired: set the address again for a new one"};
  std::string hash = confirmation_code_hash(settings.user_id, settings.email, code);
  ConfirmationOutcome outcome{std::move(settings), false};
  auto& stored = outcome.settings.email_code_hash;
  if (hash.size() == stored.size() && sodium_memcmp(hash.data(), stored.data(), hash.size()) == 0) {
    outcome.confirmed = true;
    outcome.settings.email_confirmed = true;
    outcome.settings.email_code_hash.clear();
    outcome.settings.email_code_tries = 0;
  } else {
    ++outcome.settings.email_code_tries;
  }
  return outcome;
}

Status EmailSender::send(const std::string& to, const MailMessage& message) {
  MailMessage addressed = message;
  addressed.from = settings_.from;
  addressed.to = to;
  return send_(to, mail_text(addressed, clock_.now(), random_hex(16)));
}

Result<int> EmailSender::mail_confirmations() {
  auto due = store_.email_confirmations_due(clock_.now(), kBatch);
  if (!due) return due.error();
  for (const auto& confirmation : *due) {
    auto user = store_.find_user(confirmation.user_id);
    if (!user) return user.error();
    std::string code = new_confirmation_code();
    auto sent = send(confirmation.address,
                     confirmation_mail(code, *user ? (*user)->username : "", settings_.portal_url));
    if (sent) {
      GPUPOOL_TRY(store_.record_email_code(
          confirmation, confirmation_code_hash(confirmation.user_id, confirmation.address, code),
          clock_.now(), 0, ""));
    } else {
      spdlog::warn("e-mail: the confirmation code for user {} was not sent ({})",
                   confirmation.user_id, sent.error().message);
      GPUPOOL_TRY(store_.record_email_code(confirmation, "", 0, clock_.now() + kConfirmationRetry,
                                           sent.error().message.substr(0, kMaxError)));
    }
  }
  return static_cast<int>(due->size());
}

Result<int> EmailSender::mail_notifications() {
  auto due = store_.email_deliveries_due(clock_.now(), kBatch);
  if (!due) return due.error();
  for (const auto& delivery : *due) {
    auto user = store_.find_user(delivery.notification.user_id);
    if (!user) return user.error();
    auto sent = send(delivery.address,
                     notification_mail(delivery.notification, *user ? (*user)->username : "",
                                       settings_.portal_url));
    UnixMillis retry_at = sent ? 0 : delivery_retry_at(delivery.attempts + 1, clock_.now());
    if (!sent && retry_at == 0) {
      spdlog::warn("e-mail to user {}: gave up on notification {} after {} attempts ({})",
                   delivery.notification.user_id, delivery.notification.id, kMaxDeliveryAttempts,
                   sent.error().message);
    }
    GPUPOOL_TRY(store_.record_email_attempt(delivery.notification.id, bool(sent), retry_at,
                                            sent ? "" : sent.error().message.substr(0, kMaxError)));
  }
  return static_cast<int>(due->size());
}

Result<int> EmailSender::deliver_due() {
  auto codes = mail_confirmations();
  if (!codes) return codes.error();
  auto notices = mail_notifications();
  if (!notices) return notices.error();
  return *codes + *notices;
}

void EmailSender::start(std::chrono::milliseconds every) {
  task_ = std::make_unique<PeriodicTask>(every, [this] {
    if (!store_.leads()) return;  // one server delivers (leader_lease.hpp)
    if (auto done = deliver_due(); !done) spdlog::warn("e-mail: {}", done.error().message);
  });
  task_->start();
}

void EmailSender::stop() {
  if (task_) task_->stop();
}

}  // namespace gpupool::services
