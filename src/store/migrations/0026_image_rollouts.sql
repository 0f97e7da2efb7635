-- gpupool schema, version 26: image roll-outs. A family users ask for names its stable image
-- and, while one is rolled out, a canary with its share of new sessions and the thresholds
-- that halt or promote it. Each session remembers the family it was asked for by, so that
-- the canary's starts can be compared with the stable image's.
CREATE TABLE image_rollouts (
  family TEXT PRIMARY KEY,
  stable_tag TEXT NOT NULL,
  canary_tag TEXT NOT NULL DEFAULT '',
  canary_percent INTEGER NOT NULL DEFAULT 0,
  canary_groups TEXT NOT NULL DEFAULT '[]',
  promote_after INTEGER NOT NULL DEFAULT 0,
  halt_failures INTEGER NOT NULL DEFAULT 2,
  halt_slowdown REAL NOT NULL DEFAULT 3.0,
  state TEXT NOT NULL DEFAULT 'steady',
  note TEXT NOT NULL DEFAULT '',
  started_at INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL DEFAULT 0
);
ALTER TABLE sessions ADD COLUMN image_family TEXT NOT NULL DEFAULT '';
