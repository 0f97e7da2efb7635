-- gpupool schema, version 20: notifications to users, in the portal and by webhook. A
-- notification's webhook delivery is retried until delivered or given up (webhook_state).
CREATE TABLE notifications (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  session_id TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL,
  data TEXT NOT NULL DEFAULT '{}',
  read INTEGER NOT NULL DEFAULT 0,
  webhook_state TEXT NOT NULL DEFAULT 'none'
    CHECK (webhook_state IN ('none', 'pending', 'delivered', 'failed')),
  webhook_attempts INTEGER NOT NULL DEFAULT 0,
  webhook_next_at INTEGER NOT NULL DEFAULT 0,
  webhook_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notifications_by_user ON notifications(user_id, id);
CREATE INDEX notifications_to_post ON notifications(webhook_next_at) WHERE webhook_state = 'pending';

CREATE TABLE webhooks (
  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  url TEXT NOT NULL,
  secret TEXT NOT NULL
);
