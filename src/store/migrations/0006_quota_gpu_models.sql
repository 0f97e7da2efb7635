-- gpupool schema, version 6: per-GPU-model limits on whole GPUs in quotas (a JSON object,
-- model name → GPUs).
ALTER TABLE quotas ADD COLUMN max_gpus_by_model TEXT NOT NULL DEFAULT '{}';
