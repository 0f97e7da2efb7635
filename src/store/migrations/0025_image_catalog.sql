-- gpupool schema, version 25: an admin-run image catalog. Each image has a roll-out state,
-- whether it offers SSH and is pulled ahead, who added it, and what its contract check (a
-- throwaway container of it on some node) found. Images named at start keep 'configured'.
ALTER TABLE images ADD COLUMN state TEXT NOT NULL DEFAULT 'stable';
ALTER TABLE images ADD COLUMN ssh INTEGER NOT NULL DEFAULT 1;
ALTER TABLE images ADD COLUMN prepull INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN added_by TEXT NOT NULL DEFAULT '';
ALTER TABLE images ADD COLUMN added_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN check_state TEXT NOT NULL DEFAULT 'configured';
ALTER TABLE images ADD COLUMN check_message TEXT NOT NULL DEFAULT '';
ALTER TABLE images ADD COLUMN check_python TEXT NOT NULL DEFAULT '';
ALTER TABLE images ADD COLUMN check_notebook TEXT NOT NULL DEFAULT '';
ALTER TABLE images ADD COLUMN check_torch TEXT NOT NULL DEFAULT '';
ALTER TABLE images ADD COLUMN check_torch_cuda TEXT NOT NULL DEFAULT '';
ALTER TABLE images ADD COLUMN check_node TEXT NOT NULL DEFAULT '';
ALTER TABLE images ADD COLUMN check_ordered_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN checked_at INTEGER NOT NULL DEFAULT 0;
