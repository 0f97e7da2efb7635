-- gpupool schema, version 19: idle reclaim. A session's warning, its owner's "keep it"s and an
-- admin's exemption; policies per user and group (NULL: the server's default).
ALTER TABLE sessions ADD COLUMN idle_warned_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN idle_kept_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN idle_keeps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN idle_exempt INTEGER NOT NULL DEFAULT 0;

CREATE TABLE idle_policies (
  scope TEXT NOT NULL CHECK (scope IN ('user', 'group')),
  subject_id INTEGER NOT NULL,
  window_minutes INTEGER,
  grace_minutes INTEGER,
  keeps INTEGER,
  exempt INTEGER,
  PRIMARY KEY (scope, subject_id)
);
