// Store: the server's source of truth (users, credentials, keys, images, nodes, sessions).
//
// One interface, two back-ends planned: SQLite (sqlite/, the embedded default) and
// PostgreSQL. Implementations are thread-safe: every method may be called from any thread.
// `in_transaction` runs a unit of work atomically; store calls made by that work on the same
// thread join the transaction. Every session state change is also recorded as an event.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "model/batch_job.hpp"
#include "model/dataset.hpp"
#include "model/idle.hpp"
#include "model/ledger.hpp"
#include "model/node.hpp"
#include "model/notification.hpp"
#include "model/pool_sample.hpp"
#include "model/price.hpp"
#include "model/quota.hpp"
#include "model/rollout.hpp"
#include "model/session.hpp"
#include "model/session_app.hpp"
#include "model/user.hpp"

namespace gpupool {

enum class CredentialKind { login, api_token };

// A login cookie or an API token, stored by the digest of its secret only.
struct Credential {
  std::string secret_digest;
  std::int64_t user_id = 0;
  CredentialKind kind = CredentialKind::login;
  std::string name;        // API tokens: the label the user gave it
  std::string csrf_token;  // logins: what cookie-authenticated writes must echo
  UnixMillis created_at = 0;
  UnixMillis expires_at = 0;  // 0: never
};

// One line of the audit log (migrations/0011_audit_log.sql says what each field holds).
struct AuditEntry {
  std::int64_t id = 0;
  UnixMillis at = 0;
  std::string actor;
  std::string source;
  std::string action;
  std::string target;
  int outcome = 0;
  std::string detail;
};

struct AuditFilter {
  std::string actor;           // "" for everyone
  std::string action_prefix;   // "" for every action
  UnixMillis since = 0;        // 0: from the start
  std::int64_t before_id = 0;  // 0: from the newest; else older than this entry (paging)
  int limit = 100;
};

// An admin's invitation for GPU servers to join the pool (see services/node_enrollment.hpp).
struct JoinToken {
  std::string id;  // public: names the token in lists and for revoking
  std::string secret_digest;
  std::string description;
  std::string created_by;
  UnixMillis created_at = 0;
  UnixMillis expires_at = 0;
  int uses_left = 0;  // -1: any number until it expires
  int used = 0;
  UnixMillis revoked_at = 0;  // 0: not revoked
};

// What a joined node's agent authenticates with; good for that one node only.
struct NodeCredential {
  std::string secret_digest;
  std::string node;
  std::string join_token;  // id of the token it was traded for
  UnixMillis created_at = 0;
  UnixMillis revoked_at = 0;  // 0: not revoked
};

struct UserIdentity {
  AccountSource source = AccountSource::local;
  std::string external_id;
  int uid = 0;  // 0: keep the one assigned
  int gid = 0;
};

struct StoredUser {
  User user;
  std::string password_hash;
};

struct SessionEvent {
  UnixMillis at = 0;
  SessionState state = SessionState::queued;
  std::string reason;
};

struct SessionFilter {
  std::optional<std::int64_t> user_id;
  std::optional<std::string> node;
  bool active_only = false;  // everything not ended
  // Everything not ended, and what ended at or after this time (a bounded window of history).
  std::optional<UnixMillis> ended_since;
};

// A session request made with an Idempotency-Key (POST /api/v1/sessions).
struct KeyedSessionRequest {
  std::int64_t user_id = 0;
  std::string key;
  std::string request_digest;
  std::string session_id;
  UnixMillis created_at = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual Status in_transaction(const std::function<Status()>& work) = 0;

  // Grows with every row written (rolled-back writes may count too): watchers compare two
  // readings to learn, for free, whether anything may have changed in between.
  virtual std::uint64_t change_count() const = 0;
  // Runs `callback` whenever another server sharing this database has changed it (never,
  // for a store only this process writes). It may run on any thread.
  virtual void on_external_change(const std::function<void()>& /*callback*/) {}
  // Whether this server runs the control plane's one-at-a-time work: scheduling passes, the
  // lifecycle's sweeps, deliveries. Always, for a store only it writes; on a database that
  // several servers share, while it holds the lease (store/postgres/leader_lease.hpp).
  virtual bool leads() const { return true; }

  // Users. create_user assigns id and uid; a taken name is a conflict.
  virtual Result<User> create_user(const std::string& username, const std::string& password_hash,
                                   bool admin, UnixMillis now) = 0;
  virtual Result<std::optional<StoredUser>> find_user_by_name(const std::string& username) = 0;
  virtual Result<std::optional<User>> find_user(std::int64_t id) = 0;
  virtual Result<std::int64_t> count_users() = 0;
  virtual Result<std::vector<User>> list_users() = 0;  // by name

  // Credentials. find_credential ignores expired ones.
  virtual Status add_credential(const Credential& credential) = 0;
  virtual Result<std::optional<Credential>> find_credential(const std::string& secret_digest,
                                                            UnixMillis now) = 0;
  virtual Status delete_credential(const std::string& secret_digest) = 0;
  // The user's unexpired credentials, newest first.
  virtual Result<std::vector<Credential>> list_credentials(std::int64_t user_id,
                                                           UnixMillis now) = 0;
  virtual Status set_credential_expiry(const std::string& secret_digest, UnixMillis expires_at) = 0;
  // Deletes the user's credentials (of `kind` only, when given) but `keep`; returns the
  // digests it deleted, so that what they hold open can be closed.
  virtual Result<std::vector<std::string>> delete_credentials_of(std::int64_t user_id,
                                                                 std::optional<CredentialKind> kind,
                                                                 const std::string& keep) = 0;
  virtual Status set_user_access(std::int64_t user_id, bool admin, bool disabled) = 0;
  virtual Status set_password_hash(std::int64_t user_id, const std::string& password_hash) = 0;
  // Where the user signs in (model/user.hpp); uid 0 keeps theirs. A uid another user has is
  // a conflict.
  virtual Status set_user_identity(std::int64_t user_id, const UserIdentity& identity) = 0;
  // The user's memberships of groups from the directory become exactly `group_ids` (their
  // other groups stay as admins set them).
  virtual Status set_directory_groups(std::int64_t user_id,
                                      const std::vector<std::int64_t>& group_ids) = 0;
  virtual Status set_group_from_directory(std::int64_t group_id) = 0;

  // Sign-ins under way (an identity provider's state, a CLI's one-time code), by the digest
  // of their secret. put also drops expired ones; take deletes and answers it once, unless
  // it has expired.
  virtual Status put_sign_in_attempt(const std::string& digest, const std::string& payload,
                                     UnixMillis expires_at, UnixMillis now) = 0;
  virtual Result<std::optional<std::string>> take_sign_in_attempt(const std::string& digest,
                                                                  UnixMillis now) = 0;

  // The identity provider's refresh token for a user, sealed (services/provider_tokens.hpp).
  // put sets it; replace sets it only while it is still `expected` (another server's newer
  // sign-in wins over a check's renewal).
  virtual Status put_provider_token(std::int64_t user_id, const std::string& sealed,
                                    UnixMillis now) = 0;
  virtual Result<std::optional<std::string>> find_provider_token(std::int64_t user_id) = 0;
  virtual Status replace_provider_token(std::int64_t user_id, const std::string& expected,
                                        const std::string& sealed, UnixMillis now) = 0;
  virtual Status drop_provider_token(std::int64_t user_id) = 0;

  // The audit log: append-only. list_audit is newest first; prune_audit removes entries
  // older than `before` (the store refuses any younger than 30 days) and says how many.
  virtual Status append_audit(const AuditEntry& entry) = 0;
  virtual Result<std::vector<AuditEntry>> list_audit(const AuditFilter& filter) = 0;
  virtual Result<std::int64_t> prune_audit(UnixMillis before) = 0;

  // Groups. create_group: a taken name is a conflict. set_group_members replaces the list.
  virtual Result<Group> create_group(const std::string& name, UnixMillis now) = 0;
  virtual Result<std::optional<Group>> find_group(const std::string& name) = 0;
  virtual Status set_group_members(std::int64_t group_id,
                                   const std::vector<std::int64_t>& user_ids) = 0;
  virtual Result<std::vector<Group>> groups_of(std::int64_t user_id) = 0;
  virtual Result<std::vector<std::int64_t>> group_member_ids(std::int64_t group_id) = 0;
  virtual Result<std::vector<Group>> list_groups() = 0;  // by name

  // Datasets. put_dataset replaces one of the same name (and its groups, given by id).
  virtual Status put_dataset(const Dataset& dataset,
                             const std::vector<std::int64_t>& group_ids) = 0;
  virtual Result<bool> delete_dataset(const std::string& name) = 0;  // false: there was none
  virtual Result<std::vector<Dataset>> list_datasets() = 0;          // by name, with groups
  // Those lent to a group the user is in, by name.
  virtual Result<std::vector<Dataset>> datasets_of(std::int64_t user_id) = 0;

  // Quotas. set_quota replaces the quota of its scope and subject.
  virtual Status set_quota(const Quota& quota) = 0;
  // The user's own quota and those of their groups, with subject names filled in.
  virtual Result<std::vector<Quota>> quotas_for(std::int64_t user_id) = 0;
  virtual Result<std::vector<Quota>> list_quotas() = 0;

  // Notifications (model/notification.hpp). add_notification assigns the id; for a user with a
  // webhook, the notification is queued for posting in the same write.
  virtual Status add_notification(Notification& notification) = 0;
  virtual Result<std::vector<Notification>> notifications(std::int64_t user_id, int newest) = 0;
  virtual Result<int> unread_notifications(std::int64_t user_id) = 0;
  virtual Status mark_notifications_read(std::int64_t user_id, std::int64_t up_to_id) = 0;
  virtual Status set_webhook(const Webhook& webhook) = 0;  // replaces the user's
  virtual Result<bool> delete_webhook(std::int64_t user_id) = 0;
  virtual Result<std::optional<Webhook>> webhook_of(std::int64_t user_id) = 0;
  // Postings due at `now`, oldest first, at most `limit`; a user's deleted webhook drops theirs.
  virtual Result<std::vector<WebhookDelivery>> webhook_deliveries_due(UnixMillis now,
                                                                      int limit) = 0;
  // One attempt's outcome: delivered; or failed, tried again at `retry_at` (0: given up).
  virtual Status record_webhook_attempt(std::int64_t notification_id, bool delivered,
                                        UnixMillis retry_at, const std::string& error) = 0;

  // How users are told beyond the portal (model/notification.hpp): the defaults for a user who
  // set nothing. A confirmed address gets each later notification mailed (queued in
  // add_notification's write).
  virtual Result<NotifySettings> notify_settings(std::int64_t user_id) = 0;
  virtual Status set_notify_settings(const NotifySettings& settings) = 0;  // replaces the user's
  // Mailings due at `now`, oldest first, at most `limit`; a changed address drops its mailings.
  virtual Result<std::vector<EmailDelivery>> email_deliveries_due(UnixMillis now, int limit) = 0;
  // One attempt's outcome: delivered; or failed, tried again at `retry_at` (0: given up).
  virtual Status record_email_attempt(std::int64_t notification_id, bool delivered,
                                      UnixMillis retry_at, const std::string& error) = 0;
  // Unconfirmed addresses whose confirmation code is due to be mailed at `now`.
  virtual Result<std::vector<EmailConfirmation>> email_confirmations_due(UnixMillis now,
                                                                         int limit) = 0;
  // The code mailed to `address` (its hash, at sent_at), or why not (error) and when to try
  // again; nothing when the user has set another address since.
  virtual Status record_email_code(const EmailConfirmation& confirmation,
                                   const std::string& code_hash, UnixMillis sent_at,
                                   UnixMillis retry_at, const std::string& error) = 0;

  // The pool over time (model/pool_sample.hpp): add_pool_sample also drops samples older
  // than `keep_since`; pool_samples are those in [from, to), oldest first.
  virtual Status add_pool_sample(const PoolSample& sample, UnixMillis keep_since) = 0;
  virtual Result<std::vector<PoolSample>> pool_samples(UnixMillis from, UnixMillis to) = 0;

  // Idle policies (model/idle.hpp). set_idle_policy replaces the rule of its scope and subject.
  virtual Status set_idle_policy(const IdlePolicyRule& rule) = 0;
  virtual Result<bool> delete_idle_policy(QuotaScope scope, std::int64_t subject_id) = 0;
  // The user's own rule and those of their groups, with subject names filled in.
  virtual Result<std::vector<IdlePolicyRule>> idle_policies_for(std::int64_t user_id) = 0;
  virtual Result<std::vector<IdlePolicyRule>> list_idle_policies() = 0;

  virtual Status replace_ssh_keys(std::int64_t user_id, const std::vector<std::string>& keys) = 0;
  virtual Result<std::vector<std::string>> ssh_keys(std::int64_t user_id) = 0;

  // An image named at start (--image, the engine's labels): what the command line says of it
  // is written; its roll-out state and check, once there, are kept.
  virtual Status upsert_image(const Image& image) = 0;
  virtual Result<std::vector<Image>> list_images() = 0;
  // An image an admin adds: a conflict when the tag is taken.
  virtual Status add_image(const Image& image) = 0;
  // Writes everything but the tag; not_found when there is no such image.
  virtual Status update_image(const Image& image) = 0;
  virtual Status delete_image(const std::string& tag) = 0;  // not_found when none
  // Saves of sessions as images (model/image.hpp), oldest first; `saving_only`: those under way
  // (every sync reads them), else their history too. add fills in the id.
  virtual Status add_image_save(ImageSave& save) = 0;
  virtual Status update_image_save(const ImageSave& save) = 0;  // by id
  virtual Result<std::vector<ImageSave>> list_image_saves(bool saving_only) = 0;
  // Sessions run as Slurm jobs (model/batch_job.hpp). add is a conflict for a session that has
  // one; list gives those of sessions not yet ended.
  virtual Status add_batch_job(const BatchJob& job) = 0;
  virtual Result<std::optional<BatchJob>> find_batch_job(const std::string& session_id) = 0;
  virtual Result<std::vector<BatchJob>> list_active_batch_jobs() = 0;
  // Image roll-outs (model/rollout.hpp), by family; put replaces.
  virtual Status put_rollout(const Rollout& rollout) = 0;
  virtual Result<std::vector<Rollout>> list_rollouts() = 0;
  virtual Status delete_rollout(const std::string& family) = 0;  // not_found when none

  // Inventory from the agent; leaves the admin's `drained` setting alone.
  virtual Status upsert_node(const Node& node) = 0;
  virtual Status set_node_drained(const std::string& name, bool drained) = 0;
  virtual Result<std::vector<Node>> list_nodes() = 0;

  // Join tokens and node credentials. take_join_token counts one join against the token,
  // atomically, and returns it as it was; nullopt when it is unknown, revoked, expired or
  // used up (the caller cannot tell which: neither can someone guessing tokens).
  virtual Status add_join_token(const JoinToken& token) = 0;
  virtual Result<std::vector<JoinToken>> list_join_tokens() = 0;  // newest first
  virtual Result<std::optional<JoinToken>> take_join_token(const std::string& id,
                                                           const std::string& secret_digest,
                                                           UnixMillis now) = 0;
  virtual Status revoke_join_token(const std::string& id, UnixMillis now) = 0;
  virtual Status add_node_credential(const NodeCredential& credential) = 0;
  // Unrevoked credentials only.
  virtual Result<std::optional<NodeCredential>> find_node_credential(
      const std::string& secret_digest) = 0;
  virtual Result<bool> node_has_credential(const std::string& node) = 0;
  // Revokes every credential of the node; says how many were live.
  virtual Result<int> revoke_node_credentials(const std::string& node, UnixMillis now) = 0;

  // Sessions. update_session writes the whole row and, when the state or reason changed,
  // an event.
  virtual Status insert_session(const Session& session) = 0;
  virtual Result<std::optional<Session>> get_session(const std::string& id) = 0;
  virtual Result<std::vector<Session>> list_sessions(const SessionFilter& filter) = 0;
  // The nodes of the user's latest placed sessions, newest first (repeats kept), at most
  // `limit`: where their node-local homes are.
  virtual Result<std::vector<std::string>> recent_session_nodes(std::int64_t user_id,
                                                                int limit) = 0;
  virtual Status update_session(const Session& session) = 0;
  // Adds to sessions' gpu_busy_seconds, by id (services/gpu_use_meter.hpp).
  virtual Status add_gpu_busy_seconds(const std::map<std::string, double>& by_session) = 0;
  // Sessions idle reclaim ended, by the GPU model they were billed for: how many, and the GPUs
  // (fractions for shares) they gave back.
  struct ReclaimedTotal {
    std::string gpu_model;
    std::int64_t sessions = 0;
    double gpus = 0;
  };
  virtual Result<std::vector<ReclaimedTotal>> idle_reclaimed_totals() = 0;
  virtual Result<std::vector<SessionEvent>> session_events(const std::string& id) = 0;
  // The end of what a session's container printed when it failed (kept for its owner; "" when
  // none was): written in the transaction that ends it.
  virtual Status save_start_log(const std::string& session_id, const std::string& text) = 0;
  virtual Result<std::string> start_log(const std::string& session_id) = 0;
  // The web apps a session serves through the gateway (model/session_app.hpp), by port.
  // put_session_app adds one or replaces what it shares (keeping when it was made).
  virtual Status put_session_app(const SessionApp& app) = 0;
  virtual Result<bool> remove_session_app(const std::string& session_id, int port) = 0;
  virtual Result<std::vector<SessionApp>> session_apps(const std::string& session_id) = 0;
  // Session requests made with an Idempotency-Key: the session the key made (if the user used
  // it since `since`), recording a key, and forgetting keys older than `before`.
  virtual Result<std::optional<KeyedSessionRequest>> find_session_request(std::int64_t user_id,
                                                                          const std::string& key,
                                                                          UnixMillis since) = 0;
  virtual Status record_session_request(const KeyedSessionRequest& request) = 0;
  virtual Status forget_session_requests(UnixMillis before) = 0;

  // Prices per GPU model; set_price replaces the model's price.
  virtual Status set_price(const Price& price) = 0;
  virtual Result<std::vector<Price>> list_prices() = 0;  // by model

  // The ledger (append-only). add_ledger_entry assigns the id; it returns false, writing
  // nothing, for a second charge of one session or a key the user already used.
  virtual Result<bool> add_ledger_entry(LedgerEntry& entry) = 0;
  virtual Result<std::optional<LedgerEntry>> find_ledger_entry(std::int64_t user_id,
                                                               const std::string& key) = 0;
  virtual Result<std::int64_t> ledger_sum(std::int64_t user_id) = 0;
  // Everyone's entries summed by kind, for /metrics.
  virtual Result<std::map<LedgerKind, std::int64_t>> ledger_totals() = 0;
  virtual Result<std::vector<LedgerEntry>> ledger(std::int64_t user_id, int newest) = 0;
  // Entries written in [from, to), of one user or (none) of everyone, oldest first.
  virtual Result<std::vector<LedgerEntry>> ledger_between(std::optional<std::int64_t> user_id,
                                                          UnixMillis from, UnixMillis to) = 0;
  virtual Result<std::int64_t> ledger_sum_before(std::int64_t user_id, UnixMillis before) = 0;
};

}  // namespace gpupool
