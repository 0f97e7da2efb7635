-- gpupool schema, version 35: what each node's container engine is ("Docker 28.2.2 (API
-- 1.50)") and how it hands sessions their real GPUs ("cdi", "nvidia"; "" for none), as its
-- agent reports them, for admins comparing nodes.
ALTER TABLE nodes ADD COLUMN engine TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN gpu_devices TEXT NOT NULL DEFAULT '';
