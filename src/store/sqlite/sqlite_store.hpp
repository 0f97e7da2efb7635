// SqliteStore: the Store on one SQLite file (WAL, synchronous=FULL).
//
// Thread-safe: the writing connection is guarded by a recursive mutex, held for the whole of
// an `in_transaction` unit so that the work's own store calls join it (BEGIN IMMEDIATE on the
// outermost level only). Reads from other threads go to a second connection of their own:
// WAL lets them read the last commit while a writer waits for the file's lock (another
// process holding it for seconds), so signing in and proxying never queue behind a write.
// Opening applies pending migrations.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/sqlite/database.hpp"
#include "store/store.hpp"

namespace gpupool {

class SqliteStore final : public Store {
 public:
  // `path` may be ":memory:" for tests. Before migrating an existing database, a copy of it
  // is kept beside it (`<path>.v<version>-backup`, the first time that version is left).
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);
  // A consistent online copy of the database at `path` into `target` (not existing yet), while
  // a server may be writing to it. Neither migrates nor changes the source.
  static Status backup(const std::string& path, const std::string& target);
  // Whether opening made the database (it had no schema yet): a first start, or a lost one.
  bool created() const { return created_; }

  Status in_transaction(const std::function<Status()>& work) override;
  std::uint64_t change_count() const override { return changes_.load(); }

  Result<User> create_user(const std::string& username, const std::string& password_hash,
                           bool admin, UnixMillis now) override;
  Result<std::optional<StoredUser>> find_user_by_name(const std::string& username) override;
  Result<std::optional<User>> find_user(std::int64_t id) override;
  Result<std::int64_t> count_users() override;
  Result<std::vector<User>> list_users() override;

  Status add_credential(const Credential& credential) override;
  Result<std::optional<Credential>> find_credential(const std::string& secret_digest,
                                                    UnixMillis now) override;
  Status delete_credential(const std::string& secret_digest) override;
  Result<std::vector<Credential>> list_credentials(std::int64_t user_id, UnixMillis now) override;
  Status set_credential_expiry(const std::string& secret_digest, UnixMillis expires_at) override;
  Result<std::vector<std::string>> delete_credentials_of(std::int64_t user_id,
                                                         std::optional<CredentialKind> kind,
                                                         const std::string& keep) override;
  Status append_audit(const AuditEntry& entry) override;
  Result<std::vector<AuditEntry>> list_audit(const AuditFilter& filter) override;
  Result<std::int64_t> prune_audit(UnixMillis before) override;
  Status set_user_access(std::int64_t user_id, bool admin, bool disabled) override;
  Status set_password_hash(std::int64_t user_id, const std::string& password_hash) override;

  Result<Group> create_group(const std::string& name, UnixMillis now) override;
  Result<std::optional<Group>> find_group(const std::string& name) override;
  Status set_group_members(std::int64_t group_id,
                           const std::vector<std::int64_t>& user_ids) override;
  Result<std::vector<Group>> groups_of(std::int64_t user_id) override;
  Result<std::vector<std::int64_t>> group_member_ids(std::int64_t group_id) override;
  Result<std::vector<Group>> list_groups() override;

  Status set_quota(const Quota& quota) override;
  Result<std::vector<Quota>> quotas_for(std::int64_t user_id) override;
  Result<std::vector<Quota>> list_quotas() override;

  Status add_notification(Notification& notification) override;
  Result<std::vector<Notification>> notifications(std::int64_t user_id, int newest) override;
  Result<int> unread_notifications(std::int64_t user_id) override;
  Status mark_notifications_read(std::int64_t user_id, std::int64_t up_to_id) override;
  Status set_webhook(const Webhook& webhook) override;
  Result<bool> delete_webhook(std::int64_t user_id) override;
  Result<std::optional<Webhook>> webhook_of(std::int64_t user_id) override;
  Result<std::vector<WebhookDelivery>> webhook_deliveries_due(UnixMillis now, int limit) override;
  Status record_webhook_attempt(std::int64_t notification_id, bool delivered, UnixMillis retry_at,
                                const std::string& error) override;
  Status add_pool_sample(const PoolSample& sample, UnixMillis keep_since) override;
  Result<std::vector<PoolSample>> pool_samples(UnixMillis from, UnixMillis to) override;
  Result<NotifySettings> notify_settings(std::int64_t user_id) override;
  Status set_notify_settings(const NotifySettings& settings) override;
  Result<std::vector<EmailDelivery>> email_deliveries_due(UnixMillis now, int limit) override;
  Status record_email_attempt(std::int64_t notification_id, bool delivered, UnixMillis retry_at,
                              const std::string& error) override;
  Result<std::vector<EmailConfirmation>> email_confirmations_due(UnixMillis now,
                                                                 int limit) override;
  Status record_email_code(const EmailConfirmation& confirmation, const std::string& code_hash,
                           UnixMillis sent_at, UnixMillis retry_at,
                           const std::string& error) override;

  Status set_idle_policy(const IdlePolicyRule& rule) override;
  Result<bool> delete_idle_policy(QuotaScope scope, std::int64_t subject_id) override;
  Result<std::vector<IdlePolicyRule>> idle_policies_for(std::int64_t user_id) override;
  Result<std::vector<IdlePolicyRule>> list_idle_policies() override;

  Status replace_ssh_keys(std::int64_t user_id, const std::vector<std::string>& keys) override;
  Result<std::vector<std::string>> ssh_keys(std::int64_t user_id) override;

  Status upsert_image(const Image& image) override;
  Result<std::vector<Image>> list_images() override;
  Status add_image(const Image& image) override;
  Status update_image(const Image& image) override;
  Status delete_image(const std::string& tag) override;
  Status add_image_save(ImageSave& save) override;
  Status update_image_save(const ImageSave& save) override;
  Result<std::vector<ImageSave>> list_image_saves(bool saving_only) override;
  Status add_batch_job(const BatchJob& job) override;
  Result<std::optional<BatchJob>> find_batch_job(const std::string& session_id) override;
  Result<std::vector<BatchJob>> list_active_batch_jobs() override;
  Status put_rollout(const Rollout& rollout) override;
  Result<std::vector<Rollout>> list_rollouts() override;
  Status delete_rollout(const std::string& family) override;

  Status upsert_node(const Node& node) override;
  Status set_node_drained(const std::string& name, bool drained) override;
  Result<std::vector<Node>> list_nodes() override;
  Status add_join_token(const JoinToken& token) override;
  Result<std::vector<JoinToken>> list_join_tokens() override;
  Result<std::optional<JoinToken>> take_join_token(const std::string& id,
                                                   const std::string& secret_digest,
                                                   UnixMillis now) override;
  Status revoke_join_token(const std::string& id, UnixMillis now) override;
  Status add_node_credential(const NodeCredential& credential) override;
  Result<std::optional<NodeCredential>> find_node_credential(
      const std::string& secret_digest) override;
  Result<bool> node_has_credential(const std::string& node) override;
  Result<int> revoke_node_credentials(const std::string& node, UnixMillis now) override;

  Status insert_session(const Session& session) override;
  Result<std::optional<Session>> get_session(const std::string& id) override;
  Result<std::vector<Session>> list_sessions(const SessionFilter& filter) override;
  Status put_dataset(const Dataset& dataset, const std::vector<std::int64_t>& group_ids) override;
  Result<bool> delete_dataset(const std::string& name) override;
  Result<std::vector<Dataset>> list_datasets() override;
  Result<std::vector<Dataset>> datasets_of(std::int64_t user_id) override;
  Result<std::vector<std::string>> recent_session_nodes(std::int64_t user_id, int limit) override;
  Status update_session(const Session& session) override;
  Status add_gpu_busy_seconds(const std::map<std::string, double>& by_session) override;
  Result<std::vector<ReclaimedTotal>> idle_reclaimed_totals() override;
  Result<std::optional<KeyedSessionRequest>> find_session_request(std::int64_t user_id,
                                                                  const std::string& key,
                                                                  UnixMillis since) override;
  Status record_session_request(const KeyedSessionRequest& request) override;
  Status forget_session_requests(UnixMillis before) override;
  Result<std::vector<SessionEvent>> session_events(const std::string& id) override;
  Status set_price(const Price& price) override;
  Result<std::vector<Price>> list_prices() override;
  Result<bool> add_ledger_entry(LedgerEntry& entry) override;
  Result<std::optional<LedgerEntry>> find_ledger_entry(std::int64_t user_id,
                                                       const std::string& key) override;
  Result<std::int64_t> ledger_sum(std::int64_t user_id) override;
  Result<std::map<LedgerKind, std::int64_t>> ledger_totals() override;
  Result<std::vector<LedgerEntry>> ledger(std::int64_t user_id, int newest) override;
  Result<std::vector<LedgerEntry>> ledger_between(std::optional<std::int64_t> user_id,
                                                  UnixMillis from, UnixMillis to) override;
  Result<std::int64_t> ledger_sum_before(std::int64_t user_id, UnixMillis before) override;

 private:
  SqliteStore(sqlite::Database database, std::string path)
      : db_(std::move(database)), path_(std::move(path)) {
    db_.count_changes(changes_);
  }
  Status migrate();
  Status record_event(const std::string& session_id, UnixMillis at, SessionState state,
                      const std::string& reason);

  using ReadLock = std::unique_lock<std::recursive_mutex>;
  // The connection a read uses, locked into `lock`: inside this thread's transaction the
  // writer's (to see its own writes), otherwise the reader's.
  sqlite::Database& for_reading(ReadLock& lock);

  std::recursive_mutex mutex_;
  sqlite::Database db_;  // guarded by mutex_
  const std::string path_;
  bool created_ = false;                               // set by migrate()
  int transaction_depth_ = 0;                          // guarded by mutex_
  std::atomic<std::thread::id> transaction_thread_{};  // the thread inside a transaction
  std::recursive_mutex read_mutex_;
  std::unique_ptr<sqlite::Database> reader_;  // guarded by read_mutex_; none for ":memory:"
  std::atomic<std::uint64_t> changes_{0};
};

}  // namespace gpupool
