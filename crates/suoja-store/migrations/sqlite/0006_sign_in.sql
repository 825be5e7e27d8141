-- Suoja schema v6 (SQLite): failed password sign-ins per account, to stop password guessing.
-- Keep in step with ../postgres/0006_sign_in.sql; a test compares them.

-- Consecutive failed password sign-ins of an existing account, and until when the account
-- refuses passwords after too many. An unknown e-mail address leaves nothing here; no address,
-- password or browser string is kept.
CREATE TABLE sign_in_failures (
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    blocked_until INTEGER,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX sign_in_failures_updated ON sign_in_failures (updated_at);
