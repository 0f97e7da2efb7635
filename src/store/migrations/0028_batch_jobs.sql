-- gpupool schema, version 28: sessions run as Slurm jobs. Each submitted session has its
-- job's id and the hash of the secret its job reports with; kept after the session ends, as
-- the link from gpupool's ledger to Slurm's accounting.
CREATE TABLE batch_jobs (
  session_id TEXT PRIMARY KEY,
  job_id INTEGER NOT NULL,
  secret_hash TEXT NOT NULL,
  submitted_at INTEGER NOT NULL
);
CREATE INDEX batch_jobs_by_job ON batch_jobs (job_id);
