-- gpupool schema, version 14: a session's container can stop and be started again (the
-- engine or the host restarted); the time it was down is not billed.
ALTER TABLE sessions ADD COLUMN down_since INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN down_millis INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN restarted_at INTEGER NOT NULL DEFAULT 0;
