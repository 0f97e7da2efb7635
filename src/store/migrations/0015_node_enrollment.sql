-- gpupool schema, version 15: GPU servers join with an admin's join token and get a node
-- credential of their own. Only digests of secrets are stored.
CREATE TABLE join_tokens (
  id TEXT PRIMARY KEY,                  -- the public half of the token, shown in lists
  secret_digest TEXT NOT NULL,          -- digest of the whole token
  description TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  uses_left INTEGER NOT NULL,           -- -1: any number of joins until it expires
  used INTEGER NOT NULL DEFAULT 0,
  revoked_at INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE node_credentials (
  secret_digest TEXT PRIMARY KEY,
  node TEXT NOT NULL,                   -- the only node this credential may report for
  join_token TEXT NOT NULL,             -- id of the token it was traded for
  created_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX node_credentials_by_node ON node_credentials (node);
