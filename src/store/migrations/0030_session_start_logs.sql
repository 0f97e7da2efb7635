-- gpupool schema, version 30: what a session's container printed last when it failed to start
-- or stopped for good, for its owner (`gpupool logs`); apart from the session's row, which
-- every listing reads.
CREATE TABLE session_start_logs (
  session_id TEXT PRIMARY KEY REFERENCES sessions(id),
  text TEXT NOT NULL
);
