-- gpupool schema, version 10: an admin can disable a user (no sign-in, no credential works)
-- without deleting their account, home or ledger.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
