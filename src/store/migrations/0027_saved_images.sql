-- gpupool schema, version 27: sessions saved as their owners' images. A saved image is a
-- catalog row with an owner (only they may start sessions from it) and the bytes it adds to
-- the image it was saved from; each save, ordered to the session's node, is a row of its own
-- until it has ended, and kept after as its history.
ALTER TABLE images ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE images ADD COLUMN size_bytes INTEGER NOT NULL DEFAULT 0;
CREATE TABLE image_saves (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner TEXT NOT NULL,
  name TEXT NOT NULL,
  session_id TEXT NOT NULL,
  node TEXT NOT NULL,
  base_tag TEXT NOT NULL,
  repository TEXT NOT NULL,
  version TEXT NOT NULL,
  state TEXT NOT NULL,
  message TEXT NOT NULL DEFAULT '',
  size_bytes INTEGER NOT NULL DEFAULT 0,
  requested_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX image_saves_by_owner ON image_saves (owner);
CREATE INDEX image_saves_by_state ON image_saves (state);
