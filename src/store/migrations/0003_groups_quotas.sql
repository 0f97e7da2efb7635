-- gpupool schema, version 3: groups and quotas.
CREATE TABLE groups (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);

CREATE TABLE group_members (
  group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_by_user ON group_members(user_id);

-- One row per user or group; a NULL limit means no limit.
CREATE TABLE quotas (
  scope TEXT NOT NULL CHECK (scope IN ('user', 'group')),
  subject_id INTEGER NOT NULL,
  max_gpus INTEGER,
  max_sessions INTEGER,
  max_gpu_memory_mb INTEGER,
  max_session_hours REAL,
  PRIMARY KEY (scope, subject_id)
);
