-- gpupool schema, version 21: whether a session's owner was told its time limit is near (told
-- once).
ALTER TABLE sessions ADD COLUMN limit_warned INTEGER NOT NULL DEFAULT 0;
