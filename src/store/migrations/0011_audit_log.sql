-- gpupool schema, version 11: the audit log. Who did what, from where, and how it ended:
-- sign-ins (failed ones too), credentials minted and revoked, every admin action. Like the
-- ledger it is append-only; entries leave only by the retention setting, and never before
-- they are 30 days old (the triggers refuse anything else).
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,   -- the user name, or the name tried at a failed sign-in
  source TEXT NOT NULL,  -- the client's address
  action TEXT NOT NULL,  -- "login", or the method and route, e.g. "PATCH /api/v1/users/{username}"
  target TEXT NOT NULL DEFAULT '',  -- the route's parameters, e.g. "username=alice"
  outcome INTEGER NOT NULL,         -- the HTTP status answered
  detail TEXT NOT NULL DEFAULT ''   -- why it was refused
);
CREATE INDEX audit_log_by_time ON audit_log (at);
CREATE INDEX audit_log_by_actor ON audit_log (actor, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_kept_30_days BEFORE DELETE ON audit_log
  WHEN OLD.at > (CAST(strftime('%s', 'now') AS INTEGER) - 30 * 86400) * 1000
  BEGIN SELECT RAISE(ABORT, 'audit entries are kept at least 30 days'); END;
