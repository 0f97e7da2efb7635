// Notification: something a user is told about their sessions and balance — in the portal,
// and by webhook and e-mail where they set them. Plain data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace gpupool {

enum class NotificationKind {
  idle_warning,        // unused: reclaimed after the grace unless used or kept
  preemption_warning,  // chosen to make room: stopped after the grace
  session_started,     // a request that waited in the queue is running
  session_ended,       // with its end reason
  time_limit_near,     // its time limit is a quarter of an hour away
  balance_low,         // the prepaid balance fell below the user's threshold
};

std::string_view to_string(NotificationKind kind);
std::optional<NotificationKind> parse_notification_kind(std::string_view text);

struct Notification {
  std::int64_t id = 0;  // assigned by the store; grows
  std::int64_t user_id = 0;
  UnixMillis at = 0;
  NotificationKind kind = NotificationKind::session_ended;
  std::string session_id;
  std::string message;  // in words (English)
  std::string data;     // JSON object: the figures behind the words (end reason, times)
  bool read = false;
};

// A user's webhook: where their notifications are POSTed, signed with the secret.
struct Webhook {
  std::int64_t user_id = 0;
  std::string url;
  std::string secret;
};

// A notification still to be POSTed to its user's webhook.
struct WebhookDelivery {
  Notification notification;
  std::string url;
  std::string secret;
  int attempts = 0;  // made so far
};

// A notification still to be mailed to its user's confirmed address.
struct EmailDelivery {
  Notification notification;
  std::string address;
  int attempts = 0;  // made so far
};

// A confirmation code to mail: the address a user set and has not confirmed yet.
struct EmailConfirmation {
  std::int64_t user_id = 0;
  std::string address;
};

// How a user is told, beyond the portal. Plain data; the defaults are a user who set nothing.
struct NotifySettings {
  std::int64_t user_id = 0;
  std::string email;  // "" none
  bool email_confirmed = false;
  // The confirmation under way (email set, not confirmed): the code's hash once mailed.
  std::string email_code_hash;
  UnixMillis email_code_sent_at = 0;               // 0: not mailed yet
  int email_code_tries = 0;                        // wrong codes entered
  std::string email_code_error;                    // why the last mailing failed
  std::optional<std::int64_t> balance_low_micros;  // unset: the server's default
  bool balance_low_told = false;  // told since the balance last stood above the threshold
};

}  // namespace gpupool
