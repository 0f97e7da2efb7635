-- gpupool schema, version 22: notifications by e-mail, and the balance-low notice.
-- A user's address is used once confirmed: a code is mailed to it (only its hash is kept) and
-- the user enters it. balance_low_micros NULL: the server's default threshold; balance_low_told:
-- the user was told and is told again only after the balance rose above the threshold.
CREATE TABLE notify_settings (
  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  email TEXT NOT NULL DEFAULT '',
  email_confirmed INTEGER NOT NULL DEFAULT 0,
  email_code_hash TEXT NOT NULL DEFAULT '',
  email_code_sent_at INTEGER NOT NULL DEFAULT 0,
  email_code_next_at INTEGER NOT NULL DEFAULT 0,
  email_code_tries INTEGER NOT NULL DEFAULT 0,
  email_code_error TEXT NOT NULL DEFAULT '',
  balance_low_micros INTEGER,
  balance_low_told INTEGER NOT NULL DEFAULT 0
);

ALTER TABLE notifications ADD COLUMN email_state TEXT NOT NULL DEFAULT 'none'
  CHECK (email_state IN ('none', 'pending', 'delivered', 'failed'));
ALTER TABLE notifications ADD COLUMN email_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN email_next_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN email_error TEXT NOT NULL DEFAULT '';
CREATE INDEX notifications_to_mail ON notifications(email_next_at) WHERE email_state = 'pending';
