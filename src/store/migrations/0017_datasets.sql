-- gpupool schema, version 17: datasets lent read-only to the members of some groups.
CREATE TABLE datasets (
  name TEXT PRIMARY KEY,        -- mounted at /datasets/<name> in sessions
  host_path TEXT NOT NULL,      -- the same directory on every node
  created_at INTEGER NOT NULL
);

CREATE TABLE dataset_groups (
  dataset TEXT NOT NULL REFERENCES datasets(name) ON DELETE CASCADE,
  group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  PRIMARY KEY (dataset, group_id)
);
CREATE INDEX dataset_groups_by_group ON dataset_groups(group_id);
