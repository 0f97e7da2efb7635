// EmailSender: mails users' notifications (model/notification.hpp) to their confirmed
// addresses, retrying with back-off (delivery_retry.hpp), and mails the confirmation code to an
// address a user has just set. The SMTP client is behind `send`; deliver_due() runs on the
// sender's thread and is public so that tests can drive it.
//
// An address is confirmed by entering the code mailed to it (confirm_email): nobody can have
// gpupool mail someone else. Only the code's hash is stored, bound to the user and address.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/clock.hpp"
#include "core/periodic_task.hpp"
#include "core/result.hpp"
#include "services/mail_text.hpp"
#include "store/store.hpp"

namespace gpupool::services {

// Hands one message (mail_text.hpp) to the SMTP server for `to`.
using MailSend = std::function<Status(const std::string& to, const std::string& text)>;

struct MailSettings {
  std::string from;        // the sender's address
  std::string portal_url;  // linked from each mail; may be empty
};

inline constexpr int kMaxConfirmationTries = 5;
inline constexpr UnixMillis kConfirmationLifetime = 24 * 3600 * 1000;

std::string new_confirmation_code();  // 8 random digits
std::string confirmation_code_hash(std::int64_t user_id, const std::string& address,
                                   std::string_view code);

// The settings after `code` was entered: `confirmed`, or one wrong try more (stored by the
// caller) and why; conflict when no code is waiting, it expired or too many were wrong.
struct ConfirmationOutcome {
  NotifySettings settings;
  bool confirmed = false;
};
Result<ConfirmationOutcome> confirm_email(NotifySettings settings, std::string_view code,
                                          UnixMillis now);

class EmailSender {
 public:
  // `store` and `clock` must outlive the sender.
  EmailSender(Store& store, const Clock& clock, MailSettings settings, MailSend send)
      : store_(store), clock_(clock), settings_(std::move(settings)), send_(std::move(send)) {}
  ~EmailSender() { stop(); }

  void start(std::chrono::milliseconds every);
  void stop();
  // Mails the confirmation codes, then the notifications, due now; how many were attempted.
  Result<int> deliver_due();

 private:
  Result<int> mail_confirmations();
  Result<int> mail_notifications();
  Status send(const std::string& to, const MailMessage& message);

  Store& store_;
  const Clock& clock_;
  const MailSettings settings_;
  const MailSend send_;
  std::unique_ptr<PeriodicTask> task_;  // set by start()
};

}  // namespace gpupool::services
