// The e-mails gpupool sends, as text an SMTP server takes (RFC 5322, CRLF lines): pure
// functions. Whatever comes from users (addresses, session names, reasons) is checked or
// cleaned here so that it can never add a header or end the message early.
#pragma once

#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "model/notification.hpp"

namespace gpupool::services {

struct MailMessage {
  std::string from;  // an address (the envelope sender too)
  std::string to;
  std::string subject;  // any text: control characters dropped, encoded when not ASCII
  std::string body;     // lines of text, "\n" or "\r\n"
};

// invalid_argument unless `address` is a plain ASCII mailbox, local@domain.tld, that a header
// and an SMTP command can carry as it is (no quoting, comments, IP literals or names).
Status check_email_address(std::string_view address);

// The message, headers and body, ready for SMTP's DATA; `message_id` unique per message.
std::string mail_text(const MailMessage& message, UnixMillis now, const std::string& message_id);

// What a notification says by e-mail to `username`; `portal_url` (may be empty) is linked.
MailMessage notification_mail(const Notification& notification, const std::string& username,
                              const std::string& portal_url);
// The mail that carries a confirmation code to a new address.
MailMessage confirmation_mail(const std::string& code, const std::string& username,
                              const std::string& portal_url);

}  // namespace gpupool::services
