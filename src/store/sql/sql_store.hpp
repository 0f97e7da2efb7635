// SqlStore: the Store's queries, written once for every SQL engine (sql::Database).
//
// Thread-safe: the writing connection is guarded by a recursive mutex, held for the whole of
// an `in_transaction` unit so that the work's own store calls join it (the engine's BEGIN on
// the outermost level only). Reads from other threads go to a second connection of their
// own, so signing in and proxying never queue behind a write. What differs between engines
// (how a transaction takes the write lock, where the schema version lives, migrations that
// need their own text) is left to SqliteStore and PostgresStore.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/migrations/migrations.hpp"
#include "store/sql/database.hpp"
#include "store/store.hpp"

namespace gpupool {

// A list of names as a column holds it: a JSON array of strings. Read leniently: anything
// else in the column gives the names it holds, or none.
std::string names_to_json(const std::vector<std::string>& names);
std::vector<std::string> names_from_json(const std::string& text);

class SqlStore : public Store {
 public:
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
  Status set_user_identity(std::int64_t user_id, const UserIdentity& identity) override;
  Status set_directory_groups(std::int64_t user_id,
                              const std::vector<std::int64_t>& group_ids) override;
  Status set_group_from_directory(std::int64_t group_id) override;
  Status put_sign_in_attempt(const std::string& digest, const std::string& payload,
                             UnixMillis expires_at, UnixMillis now) override;
  Result<std::optional<std::string>> take_sign_in_attempt(const std::string& digest,
                                                          UnixMillis now) override;
  Status put_provider_token(std::int64_t user_id, const std::string& sealed,
                            UnixMillis now) override;
  Result<std::optional<std::string>> find_provider_token(std::int64_t user_id) override;
  Status replace_provider_token(std::int64_t user_id, const std::string& expected,
                                const std::string& sealed, UnixMillis now) override;
  Status drop_provider_token(std::int64_t user_id) override;

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
  Status save_start_log(const std::string& session_id, const std::string& text) override;
  Result<std::string> start_log(const std::string& session_id) override;
  Status put_session_app(const SessionApp& app) override;
  Result<bool> remove_session_app(const std::string& session_id, int port) override;
  Result<std::vector<SessionApp>> session_apps(const std::string& session_id) override;
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

 protected:
  explicit SqlStore(std::unique_ptr<sql::Database> writer)
      : writer_(std::move(writer)), db_(*writer_) {
    db_.count_changes(changes_);
  }
  // Reads from threads outside a transaction go to `reader` from now on; without one they
  // share the writer (an in-memory database has no second connection).
  void set_reader(std::unique_ptr<sql::Database> reader) { reader_ = std::move(reader); }

  // Applies pending migrations, each in a transaction of its own.
  Status migrate();
  // The engine's start of a write transaction, holding its write lock until the end.
  virtual Status begin_transaction() = 0;
  // Inside a transaction, before the work: what the engine checks of each write transaction.
  virtual Status check_transaction() { return {}; }
  virtual Result<int> schema_version() = 0;
  virtual Status set_schema_version(int version) = 0;
  virtual std::string migration_text(const migrations::Migration& migration) = 0;
  // Called once before the first pending migration of an existing database.
  virtual Status before_upgrade(int /*from*/, int /*to*/) { return {}; }

  using ReadLock = std::unique_lock<std::recursive_mutex>;
  // The connection a read uses, locked into `lock`: inside this thread's transaction the
  // writer's (to see its own writes), otherwise the reader's.
  sql::Database& for_reading(ReadLock& lock);

  std::recursive_mutex mutex_;
  std::unique_ptr<sql::Database> writer_;
  sql::Database& db_;  // the writer; guarded by mutex_
  std::atomic<std::uint64_t> changes_{0};

 private:
  Status record_event(const std::string& session_id, UnixMillis at, SessionState state,
                      const std::string& reason);

  bool created_ = false;                               // set by migrate()
  int transaction_depth_ = 0;                          // guarded by mutex_
  std::atomic<std::thread::id> transaction_thread_{};  // the thread inside a transaction
  std::recursive_mutex read_mutex_;
  std::unique_ptr<sql::Database> reader_;  // guarded by read_mutex_
};

}  // namespace gpupool
