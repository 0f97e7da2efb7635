// SqlStore: how users are told beyond the portal — their e-mail address and its
// confirmation, and their balance-low threshold.
#include "store/sql/sql_store.hpp"

namespace gpupool {

using Lock = std::lock_guard<std::recursive_mutex>;

Result<NotifySettings> SqlStore::notify_settings(std::int64_t user_id) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      "SELECT email, email_confirmed, email_code_hash, email_code_sent_at, email_code_tries, "
      "email_code_error, balance_low_micros, balance_low_told FROM notify_settings WHERE "
      "user_id = ?1");
  if (!query) return query.error();
  query->bind(1, user_id);
  auto row = query->step();
  if (!row) return row.error();
  NotifySettings settings;
  settings.user_id = user_id;
  if (!*row) return settings;
  settings.email = query->column_text(0);
  settings.email_confirmed = query->column_int(1) != 0;
  settings.email_code_hash = query->column_text(2);
  settings.email_code_sent_at = query->column_int(3);
  settings.email_code_tries = static_cast<int>(query->column_int(4));
  settings.email_code_error = query->column_text(5);
  if (!query->column_is_null(6)) settings.balance_low_micros = query->column_int(6);
  settings.balance_low_told = query->column_int(7) != 0;
  return settings;
}

Status SqlStore::set_notify_settings(const NotifySettings& settings) {
  return in_transaction([&]() -> Status {
    auto before = notify_settings(settings.user_id);
    if (!before) return before.error();
    // When to mail the next code (after a failed mailing) stays unless the address changed.
    auto upsert = db_.prepare(
        "INSERT INTO notify_settings (user_id, email, email_confirmed, email_code_hash, "
        "email_code_sent_at, email_code_tries, email_code_error, balance_low_micros, "
        "balance_low_told) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (user_id) DO "
        "UPDATE SET email_code_next_at = CASE WHEN notify_settings.email = excluded.email THEN "
        "notify_settings.email_code_next_at ELSE 0 END, email = excluded.email, email_confirmed = "
        "excluded.email_confirmed, email_code_hash = excluded.email_code_hash, "
        "email_code_sent_at = excluded.email_code_sent_at, email_code_tries = "
        "excluded.email_code_tries, email_code_error = excluded.email_code_error, "
        "balance_low_micros = excluded.balance_low_micros, balance_low_told = "
        "excluded.balance_low_told");
    if (!upsert) return upsert.error();
    upsert->bind(1, settings.user_id)
        .bind(2, settings.email)
        .bind(3, settings.email_confirmed)
        .bind(4, settings.email_code_hash)
        .bind(5, settings.email_code_sent_at)
        .bind(6, settings.email_code_tries)
        .bind(7, settings.email_code_error)
        .bind(8, settings.balance_low_micros)
        .bind(9, settings.balance_low_told);
    GPUPOOL_TRY(upsert->run());
    if (before->email == settings.email && settings.email_confirmed) return {};
    // What was still to be mailed to the old address is mailed nowhere.
    auto drop = db_.prepare(
        "UPDATE notifications SET email_state = 'failed', email_error = 'the address was "
        "changed' WHERE user_id = ?1 AND email_state = 'pending'");
    if (!drop) return drop.error();
    drop->bind(1, settings.user_id);
    return drop->run();
  });
}

Result<std::vector<EmailConfirmation>> SqlStore::email_confirmations_due(UnixMillis now,
                                                                         int limit) {
  ReadLock lock;
  auto& db = for_reading(lock);
  auto query = db.prepare(
      "SELECT user_id, email FROM notify_settings WHERE email != '' AND email_confirmed = 0 AND "
      "email_code_sent_at = 0 AND email_code_next_at <= ?1 ORDER BY email_code_next_at LIMIT ?2");
  if (!query) return query.error();
  query->bind(1, now).bind(2, limit);
  return query->collect<EmailConfirmation>([](const sql::Statement& row) {
    return EmailConfirmation{row.column_int(0), row.column_text(1)};
  });
}

Status SqlStore::record_email_code(const EmailConfirmation& confirmation,
                                   const std::string& code_hash, UnixMillis sent_at,
                                   UnixMillis retry_at, const std::string& error) {
  Lock lock(mutex_);
  auto update = db_.prepare(
      "UPDATE notify_settings SET email_code_hash = ?3, email_code_sent_at = ?4, "
      "email_code_next_at = ?5, email_code_error = ?6 WHERE user_id = ?1 AND email = ?2 AND "
      "email_confirmed = 0 AND email_code_sent_at = 0");
  if (!update) return update.error();
  update->bind(1, confirmation.user_id)
      .bind(2, confirmation.address)
      .bind(3, code_hash)
      .bind(4, sent_at)
      .bind(5, retry_at)
      .bind(6, error);
  return update->run();
}

}  // namespace gpupool
