-- gpupool schema, version 34: for each user who signed in through the OpenID Connect
-- provider, the refresh token of their latest sign-in, sealed with a key derived from the
-- client's secret (which the database does not hold). The directory check redeems it to
-- learn whether the provider still knows the user.
CREATE TABLE provider_tokens (
  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  sealed TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

-- Whether a user's uid is the directory's (uidNumber, or the provider's uid claim), which
-- the cluster's accounts must then share, rather than one gpupool assigned.
ALTER TABLE users ADD COLUMN uid_from_directory INTEGER NOT NULL DEFAULT 0;
