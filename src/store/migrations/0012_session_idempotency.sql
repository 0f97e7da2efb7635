-- gpupool schema, version 12: Idempotency-Key on session requests. A client that retries
-- POST /api/v1/sessions (a dropped connection, a timeout) with the same key gets the session
-- its first request made, not a second one. Keys are per user and kept a day.
CREATE TABLE session_requests (
  user_id INTEGER NOT NULL REFERENCES users(id),
  idempotency_key TEXT NOT NULL,
  request_digest TEXT NOT NULL,  -- the request's canonical JSON, hashed: same key, other body → 409
  session_id TEXT NOT NULL REFERENCES sessions(id),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX session_requests_by_time ON session_requests (created_at);
