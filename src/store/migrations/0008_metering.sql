-- gpupool schema, version 8: prices per GPU model, and each session's meter (fixed when it
-- is placed, so that its cost can always be recomputed from its start and end times).
CREATE TABLE prices (
  gpu_model TEXT PRIMARY KEY,
  micros_per_gpu_hour INTEGER NOT NULL CHECK (micros_per_gpu_hour >= 0),
  updated_at INTEGER NOT NULL
);
ALTER TABLE sessions ADD COLUMN billed_gpu_model TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN billed_gpus REAL NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN rate_micros_per_hour INTEGER NOT NULL DEFAULT 0;
