-- gpupool schema, version 31: the web apps sessions serve through the gateway (a port of the
-- session, exposed by its owner, with whom it is shared), and where each node relays them;
-- and the JupyterLab an image's contract check found (sessions start it rather than the
-- classic notebook).
ALTER TABLE images ADD COLUMN check_jupyterlab TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN app_relay_port INTEGER NOT NULL DEFAULT 0;
CREATE TABLE session_apps (
  session_id TEXT NOT NULL REFERENCES sessions(id),
  port INTEGER NOT NULL,
  keep_path INTEGER NOT NULL DEFAULT 0,
  shared_users TEXT NOT NULL DEFAULT '[]',
  shared_groups TEXT NOT NULL DEFAULT '[]',
  link_digest TEXT NOT NULL DEFAULT '',
  link_expires_at INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (session_id, port)
);
