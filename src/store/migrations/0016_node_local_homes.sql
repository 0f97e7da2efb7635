-- gpupool schema, version 16: where users' homes are. A node reports whether its homes are on
-- a filesystem every node shares; a session placed where homes are node-local records the
-- node that held the user's home then (it was preferred; elsewhere, the home is new).
ALTER TABLE nodes ADD COLUMN shared_homes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN home_node TEXT NOT NULL DEFAULT '';
