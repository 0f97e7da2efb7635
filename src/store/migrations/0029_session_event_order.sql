-- gpupool schema, version 29: session events get an id, the order they were recorded in (two
-- events of one millisecond keep theirs on every engine, not only where rows have a rowid).
CREATE TABLE session_events_v29 (
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  at INTEGER NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT ''
);
INSERT INTO session_events_v29 (id, session_id, at, state, reason)
  SELECT rowid, session_id, at, state, reason FROM session_events ORDER BY rowid;
DROP TABLE session_events;
ALTER TABLE session_events_v29 RENAME TO session_events;
CREATE INDEX session_events_by_session ON session_events(session_id, at);
