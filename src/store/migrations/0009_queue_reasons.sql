-- gpupool schema, version 9: why a session is queued, as data (a code and its figures, JSON),
-- so that the API and the portal can word it in the reader's language.
ALTER TABLE sessions ADD COLUMN queue_reason TEXT NOT NULL DEFAULT '';
