-- gpupool schema, version 8: metering. Prices per GPU model; each session's meter, fixed when
-- it is placed, so that its cost can always be recomputed from its start and end times.
CREATE TABLE prices (
  gpu_model TEXT PRIMARY KEY,
  micros_per_gpu_hour INTEGER NOT NULL CHECK (micros_per_gpu_hour >= 0),
  updated_at INTEGER NOT NULL
);
ALTER TABLE sessions ADD COLUMN billed_gpu_model TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN billed_gpus REAL NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN rate_micros_per_hour INTEGER NOT NULL DEFAULT 0;

-- The ledger: every top-up, adjustment and charge, append-only (the triggers refuse changes).
-- A session is charged once, when it ends, in the transaction that ends it; a top-up retried
-- with the same idempotency key is written once.
CREATE TABLE ledger (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  at INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('top_up', 'adjustment', 'charge')),
  amount_micros INTEGER NOT NULL,
  session_id TEXT,
  idempotency_key TEXT,
  note TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX ledger_one_charge_per_session ON ledger (session_id) WHERE kind = 'charge';
CREATE UNIQUE INDEX ledger_top_up_once ON ledger (user_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX ledger_by_user ON ledger (user_id, id);
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
  BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
  BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
