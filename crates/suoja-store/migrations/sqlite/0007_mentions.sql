-- Suoja schema v7 (SQLite): reviewed mentions, where the erasure ledger travels with backups,
-- credentials set by someone else, and scoped, expiring tokens.
-- Keep in step with ../postgres/0007_mentions.sql; a test compares them.

-- Passages in other people's text that may be about the person a privacy request is for. Each
-- is a candidate that privacy staff accept or reject before it enters the person's export (or,
-- for a weak match, before an erasure replaces it). Ids, the match's strength and classes and
-- the decision only; never the text.
CREATE TABLE privacy_mentions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    request_id INTEGER NOT NULL,
    subject_id INTEGER NOT NULL,
    source TEXT NOT NULL,
    source_id INTEGER NOT NULL,
    ticket_id INTEGER,
    strength TEXT NOT NULL,
    classes TEXT NOT NULL,
    state TEXT NOT NULL,
    decided_by INTEGER,
    decided_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX privacy_mentions_source ON privacy_mentions (tenant_id, request_id, source, source_id);
CREATE INDEX privacy_mentions_subject ON privacy_mentions (tenant_id, subject_id);

-- Directories `suoja backup` has written to: completed erasures and redactions are appended to
-- the erasure ledger kept in each, so whoever holds a backup directory and the root key can
-- restore without bringing anyone back. Installation-wide; no personal data.
CREATE TABLE backup_targets (
    path TEXT PRIMARY KEY,
    registered_at INTEGER NOT NULL,
    last_backup_at INTEGER
);

-- People whose password or sign-in e-mail someone else (an admin) set: until they set their own
-- password, their own session is no proof of identity for a privacy request. Ids and times only.
CREATE TABLE credential_resets (
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    reset_by INTEGER NOT NULL,
    reset_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

-- API tokens get a description; OAuth tokens their scopes (space-separated, as OAuth writes
-- them) and the time they stop working.
ALTER TABLE api_tokens ADD COLUMN description TEXT;
ALTER TABLE api_tokens ADD COLUMN scopes TEXT;
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;

-- A webhook's signing secret is derived from the root key and this random salt (never stored
-- itself); a new salt is a new secret.
ALTER TABLE webhooks ADD COLUMN signing_salt BLOB;
