-- gpupool schema, version 24: the pool over time, for the portal's charts: once a minute, its
-- GPUs, how many sessions held and how many were busy (GPUs' worth, from utilisation). Kept
-- for 8 days.
CREATE TABLE pool_samples (
  at INTEGER PRIMARY KEY,
  gpus REAL NOT NULL,
  allocated REAL NOT NULL,
  busy REAL NOT NULL
);
