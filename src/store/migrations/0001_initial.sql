-- gpupool schema, version 1.
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  admin INTEGER NOT NULL DEFAULT 0,
  uid INTEGER NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);

CREATE TABLE credentials (
  secret_digest TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('login', 'api_token')),
  name TEXT NOT NULL DEFAULT '',
  csrf_token TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX credentials_by_user ON credentials(user_id);

CREATE TABLE ssh_keys (
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  public_key TEXT NOT NULL,
  PRIMARY KEY (user_id, position)
);

CREATE TABLE images (
  tag TEXT PRIMARY KEY,
  reference TEXT NOT NULL,
  framework TEXT NOT NULL,
  framework_version TEXT NOT NULL,
  cuda TEXT NOT NULL DEFAULT '',
  cudnn TEXT NOT NULL DEFAULT '',
  flavor TEXT NOT NULL,
  is_default INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'missing'
);

CREATE TABLE nodes (
  name TEXT PRIMARY KEY,
  address TEXT NOT NULL,
  gpus TEXT NOT NULL,          -- JSON array of GpuDevice
  cpus INTEGER NOT NULL,
  memory_mb INTEGER NOT NULL,
  port_min INTEGER NOT NULL,
  port_max INTEGER NOT NULL,
  driver_cuda TEXT NOT NULL DEFAULT '',
  simulated INTEGER NOT NULL DEFAULT 0,
  last_seen INTEGER NOT NULL
);

CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  image_tag TEXT NOT NULL,
  image_reference TEXT NOT NULL,
  gpus INTEGER NOT NULL,
  gpu_model TEXT NOT NULL DEFAULT '',
  cpus REAL NOT NULL,
  memory_mb INTEGER NOT NULL,
  max_hours REAL,
  state TEXT NOT NULL,
  end_reason TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  node TEXT NOT NULL DEFAULT '',
  gpu_indices TEXT NOT NULL DEFAULT '[]',
  gpu_uuids TEXT NOT NULL DEFAULT '[]',
  jupyter_port INTEGER NOT NULL DEFAULT 0,
  ssh_port INTEGER NOT NULL DEFAULT 0,
  jupyter_token TEXT NOT NULL,
  ssh_host_key TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL DEFAULT 0,
  ended_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_by_user ON sessions(user_id, created_at);
CREATE INDEX sessions_active ON sessions(state) WHERE state <> 'ended';

CREATE TABLE session_events (
  session_id TEXT NOT NULL REFERENCES sessions(id),
  at INTEGER NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX session_events_by_session ON session_events(session_id, at);
