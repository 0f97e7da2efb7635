-- gpupool schema, version 2: GPU shares and priorities on sessions, drained nodes.
ALTER TABLE sessions ADD COLUMN gpu_memory_mb INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN drained INTEGER NOT NULL DEFAULT 0;
