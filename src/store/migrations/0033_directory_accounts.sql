-- gpupool schema, version 33: accounts from the organisation's directory (LDAP) or identity
-- provider (OpenID Connect): where each user signs in, the directory's name for them, their
-- Linux group id; and groups whose members the directory keeps.
ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
ALTER TABLE users ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN gid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE groups ADD COLUMN from_directory INTEGER NOT NULL DEFAULT 0;

-- Sign-ins under way with an identity provider (the state of each, kept as a digest, with
-- what its callback needs) and the one-time codes a CLI's browser sign-in redeems: each is
-- taken once, and expires.
CREATE TABLE sign_in_attempts (
  digest TEXT PRIMARY KEY,
  payload TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
