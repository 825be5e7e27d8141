-- Suoja schema v6 (PostgreSQL): failed password sign-ins per account, to stop password guessing.
-- Keep in step with ../sqlite/0006_sign_in.sql; a test compares them.

-- Consecutive failed password sign-ins of an existing account, and until when the account
-- refuses passwords after too many. An unknown e-mail address leaves nothing here; no address,
-- password or browser string is kept.
CREATE TABLE sign_in_failures (
    tenant_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    blocked_until BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX sign_in_failures_updated ON sign_in_failures (updated_at);
