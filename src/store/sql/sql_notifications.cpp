// SqlStore: notifications, and their postings to webhooks and mailings still due (users'
// webhooks and addresses: sql_notify_settings.cpp).
#include <fmt/format.h>

#include "store/sql/sql_store.hpp"

namespace gpupool {

using Lock = std::lock_guard<std::recursive_mutex>;
using sql::Statement;

namespace {

constexpr const char* kNotificationColumns =
    "notifications.id, notifications.user_id, notifications.at, notifications.kind, "
    "notifications.session_id, notifications.message, notifications.data, notifications.read";

Notification read_notification(const Statement& row) {
  Notification notification;
  notification.id = row.column_int(0);
  notification.user_id = row.column_int(1);
  notification.at = row.column_int(2);
  notification.kind =
      parse_notification_kind(row.column_text(3)).value_or(NotificationKind::session_ended);
  notification.session_id = row.column_text(4);
  notification.message = row.column_text(5);
  notification.data = row.column_text(6);
  notification.read = row.column_int(7) != 0;
  return notification;
}

// One attempt's outcome on a notification's `channel` ("webhook" or "email": the prefix of its
// columns): delivered; or failed, tried again at `retry_at` (0: given up).
Status record_delivery_attempt(sql::Database& db, std::string_view channel,
                               std::int64_t notification_id, bool delivered, UnixMillis retry_at,
                               const std::string& error) {
  auto update = db.prepare(fmt::format(
      "UPDATE notifications SET {0}_attempts = {0}_attempts + 1, {0}_state = ?2, {0}_next_at = "
      "?3, {0}_error = ?4 WHERE id = ?1 AND {0}_state = 'pending'",
      channel));
  if (!update) return update.error();
  const char* state = delivered ? "delivered" : retry_at != 0 ? "pending" : "failed";
  update->bind(1, notification_id).bind(2, state).bind(3, retry_at).bind(4, error);
  return update->run();
}

}  // namespace

Status SqlStore::add_notification(Notification& notification) {
  Lock lock(mutex_);
  auto insert = db_.prepare(
      "INSERT INTO notifications (user_id, at, kind, session_id, message, data, webhook_state, "
      "webhook_next_at, email_state, email_next_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE WHEN "
      "EXISTS (SELECT 1 FROM webhooks WHERE user_id = ?1) THEN 'pending' ELSE 'none' END, ?2, "
      "CASE WHEN EXISTS (SELECT 1 FROM notify_settings WHERE user_id = ?1 AND email_confirmed = 1 "
      "AND email != '') THEN 'pending' ELSE 'none' END, ?2) RETURNING id");
  if (!insert) return insert.error();
  insert->bind(1, notification.user_id)
      .bind(2, notification.at)
      .bind(3, to_string(notification.kind))
      .bind(4, notification.session_id)
      .bind(5, notification.message)
      .bind(6, notification.data.empty() ? std::string("{}") : notification.data);
  auto inserted = insert->step();
  if (!inserted) return inserted.error();
  notification.id = insert->column_int(0);
  return insert->run();
}

Result<std::vector<Notification>> SqlStore::notifications(std::int64_t user_id, int newest) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      fmt::format("SELECT {} FROM notifications WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2",
                  kNotificationColumns));
  if (!query) return query.error();
  query->bind(1, user_id).bind(2, newest);
  return query->collect<Notification>(read_notification);
}

Result<int> SqlStore::unread_notifications(std::int64_t user_id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare("SELECT COUNT(*) FROM notifications WHERE user_id = ?1 AND read = 0");
  if (!query) return query.error();
  query->bind(1, user_id);
  auto row = query->step();
  if (!row) return row.error();
  return static_cast<int>(query->column_int(0));
}

Status SqlStore::mark_notifications_read(std::int64_t user_id, std::int64_t up_to_id) {
  Lock lock(mutex_);
  auto update =
      db_.prepare("UPDATE notifications SET read = 1 WHERE user_id = ?1 AND id <= ?2 AND read = 0");
  if (!update) return update.error();
  update->bind(1, user_id).bind(2, up_to_id);
  return update->run();
}

Status SqlStore::set_webhook(const Webhook& webhook) {
  Lock lock(mutex_);
  auto upsert = db_.prepare(
      "INSERT INTO webhooks (user_id, url, secret) VALUES (?1, ?2, ?3) ON CONFLICT "
      "(user_id) DO UPDATE SET url = excluded.url, secret = excluded.secret");
  if (!upsert) return upsert.error();
  upsert->bind(1, webhook.user_id).bind(2, webhook.url).bind(3, webhook.secret);
  return upsert->run();
}

Result<bool> SqlStore::delete_webhook(std::int64_t user_id) {
  bool existed = false;
  auto done = in_transaction([&]() -> Status {
    auto remove = db_.prepare("DELETE FROM webhooks WHERE user_id = ?1");
    if (!remove) return remove.error();
    remove->bind(1, user_id);
    GPUPOOL_TRY(remove->run());
    existed = db_.changes() > 0;
    // What was still to be posted there is posted nowhere.
    auto drop = db_.prepare(
        "UPDATE notifications SET webhook_state = 'failed', webhook_error = 'the webhook was "
        "removed' WHERE user_id = ?1 AND webhook_state = 'pending'");
    if (!drop) return drop.error();
    drop->bind(1, user_id);
    return drop->run();
  });
  if (!done) return done.error();
  return existed;
}

Result<std::optional<Webhook>> SqlStore::webhook_of(std::int64_t user_id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare("SELECT user_id, url, secret FROM webhooks WHERE user_id = ?1");
  if (!query) return query.error();
  query->bind(1, user_id);
  auto row = query->step();
  if (!row) return row.error();
  if (!*row) return std::optional<Webhook>{};
  return std::optional<Webhook>{
      Webhook{query->column_int(0), query->column_text(1), query->column_text(2)}};
}

Result<std::vector<WebhookDelivery>> SqlStore::webhook_deliveries_due(UnixMillis now, int limit) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      fmt::format("SELECT {}, webhooks.url, webhooks.secret, notifications.webhook_attempts FROM "
                  "notifications JOIN webhooks ON webhooks.user_id = notifications.user_id WHERE "
                  "notifications.webhook_state = 'pending' AND notifications.webhook_next_at <= ?1 "
                  "ORDER BY notifications.webhook_next_at, notifications.id LIMIT ?2",
                  kNotificationColumns));
  if (!query) return query.error();
  query->bind(1, now).bind(2, limit);
  return query->collect<WebhookDelivery>([](const Statement& row) {
    return WebhookDelivery{read_notification(row), row.column_text(8), row.column_text(9),
                           static_cast<int>(row.column_int(10))};
  });
}

Status SqlStore::record_webhook_attempt(std::int64_t notification_id, bool delivered,
                                        UnixMillis retry_at, const std::string& error) {
  Lock lock(mutex_);
  return record_delivery_attempt(db_, "webhook", notification_id, delivered, retry_at, error);
}

Result<std::vector<EmailDelivery>> SqlStore::email_deliveries_due(UnixMillis now, int limit) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(fmt::format(
      "SELECT {}, notify_settings.email, notifications.email_attempts FROM notifications JOIN "
      "notify_settings ON notify_settings.user_id = notifications.user_id WHERE "
      "notifications.email_state = 'pending' AND notifications.email_next_at <= ?1 AND "
      "notify_settings.email_confirmed = 1 ORDER BY notifications.email_next_at, "
      "notifications.id LIMIT ?2",
      kNotificationColumns));
  if (!query) return query.error();
  query->bind(1, now).bind(2, limit);
  return query->collect<EmailDelivery>([](const Statement& row) {
    return EmailDelivery{read_notification(row), row.column_text(8),
                         static_cast<int>(row.column_int(9))};
  });
}

Status SqlStore::record_email_attempt(std::int64_t notification_id, bool delivered,
                                      UnixMillis retry_at, const std::string& error) {
  Lock lock(mutex_);
  return record_delivery_attempt(db_, "email", notification_id, delivered, retry_at, error);
}

}  // namespace gpupool
