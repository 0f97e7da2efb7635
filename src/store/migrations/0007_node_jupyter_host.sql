-- gpupool schema, version 7: where the gateway reaches the Jupyter ports a node publishes
-- (its loopback for the local node; Jupyter is not published to users directly).
ALTER TABLE nodes ADD COLUMN jupyter_host TEXT NOT NULL DEFAULT '';
