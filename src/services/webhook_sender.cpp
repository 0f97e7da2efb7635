#include "services/webhook_sender.hpp"

#include <sodium.h>

#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/log.hpp"

namespace gpupool::services {

namespace {

constexpr int kBatch = 64;

}  // namespace

std::string webhook_signature(const std::string& secret, const std::string& timestamp,
                              const std::string& body) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  std::string signed_text = timestamp + "." + body;
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(signed_text.data()),
                                signed_text.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  char hex[2 * sizeof mac + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return std::string("sha256=") + hex;
}

std::string webhook_body(const Notification& notification, const std::string& username) {
  auto data = nlohmann::json::parse(notification.data, nullptr, false);
  return nlohmann::json{{"id", notification.id},
                        {"kind", to_string(notification.kind)},
                        {"at", format_rfc3339(notification.at)},
                        {"user", username},
                        {"session", notification.session_id},
                        {"message", notification.message},
                        {"data", data.is_object() ? data : nlohmann::json::object()}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // any bytes a node sent
}

Result<int> WebhookSender::deliver_due() {
  auto due = store_.webhook_deliveries_due(clock_.now(), kBatch);
  if (!due) return due.error();
  // A receiver that failed is not tried again in this pass: one that is down costs a pass
  // one timeout, not one per posting queued for it, and others' postings are not held up.
  std::set<std::string> failing;
  int attempted = 0;
  for (const auto& delivery : *due) {
    if (failing.contains(delivery.url)) continue;
    ++attempted;
    auto user = store_.find_user(delivery.notification.user_id);
    if (!user) return user.error();
    std::string body = webhook_body(delivery.notification, *user ? (*user)->username : "");
    std::string timestamp = std::to_string(clock_.now() / 1000);
    Headers headers{{"Content-Type", "application/json"},
                    {"User-Agent", "gpupool-webhook"},
                    {"X-Gpupool-Event", std::string(to_string(delivery.notification.kind))},
                    {"X-Gpupool-Delivery", std::to_string(delivery.notification.id)},
                    {"X-Gpupool-Timestamp", timestamp},
                    {"X-Gpupool-Signature", webhook_signature(delivery.secret, timestamp, body)}};
    auto answer = post_(delivery.url, headers, body);
    bool delivered = answer && *answer >= 200 && *answer < 300;
    std::string error = delivered ? ""
                        : answer  ? fmt::format("answered {}", *answer)
                                  : answer.error().message;
    if (!delivered) failing.insert(delivery.url);
    UnixMillis retry_at = delivered ? 0 : delivery_retry_at(delivery.attempts + 1, clock_.now());
    if (!delivered && retry_at == 0) {
      spdlog::warn("webhook of user {}: gave up on notification {} after {} attempts ({})",
                   delivery.notification.user_id, delivery.notification.id, kMaxDeliveryAttempts,
                   error);
    }
    GPUPOOL_TRY(store_.record_webhook_attempt(delivery.notification.id, delivered, retry_at,
                                              error.substr(0, 300)));
  }
  return attempted;
}

void WebhookSender::start(std::chrono::milliseconds every) {
  task_ = std::make_unique<PeriodicTask>(every, [this] {
    if (!store_.leads()) return;  // one server delivers (leader_lease.hpp)
    if (auto done = deliver_due(); !done) spdlog::warn("webhooks: {}", done.error().message);
  });
  task_->start();
}

void WebhookSender::stop() {
  if (task_) task_->stop();
}

}  // namespace gpupool::services
