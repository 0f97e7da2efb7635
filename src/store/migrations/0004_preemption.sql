-- gpupool schema, version 4: preemptible sessions.
ALTER TABLE sessions ADD COLUMN preemptible INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN preempt_at INTEGER NOT NULL DEFAULT 0;
