// Notification: something a user is told about their sessions — in the portal, and by
// webhook where they set one. Plain data.
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

}  // namespace gpupool
