-- gpupool schema, version 23: how much of its GPUs each session used (GPU-seconds weighted by
-- utilisation), for efficiency reports: allocated vs used GPU-hours. Added to in batches
-- (services/gpu_use_meter.hpp), never rewritten by a session's update.
ALTER TABLE sessions ADD COLUMN gpu_busy_seconds REAL NOT NULL DEFAULT 0;
