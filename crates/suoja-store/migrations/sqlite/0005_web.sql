-- Suoja schema v5 (SQLite): web sign-in — sessions, second factors, and one-time form ids.
-- Keep in step with ../postgres/0005_web.sql; a test compares them.

-- A browser's sign-in, a pending second-factor step, a forced enrolment or a one-time e-mail
-- sign-in link. Only the SHA-256 of the random token is kept; no address or browser string.
CREATE TABLE web_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    token_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX web_sessions_token ON web_sessions (token_hash);
CREATE INDEX web_sessions_user ON web_sessions (tenant_id, user_id);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

-- A person's TOTP secret, sealed under their key; `last_step` refuses a code used twice.
CREATE TABLE second_factors (
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    secret_enc BLOB NOT NULL,
    confirmed_at INTEGER,
    last_step INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

-- Forms that create something carry a one-time id; a second submit finds the first result.
CREATE TABLE web_submissions (
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    form_id TEXT NOT NULL,
    location TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, form_id)
);
CREATE INDEX web_submissions_created ON web_submissions (created_at);

-- The agent workspace's views count and list by status and assignee, newest change first: an
-- index that holds every column they filter on, so counting reads the index alone.
CREATE INDEX tickets_tenant_views ON tickets (tenant_id, status_rank, assignee_id, updated_at, deleted_at, restricted);
-- A requester's latest tickets (the ticket page's side panel) without reading all of theirs.
CREATE INDEX tickets_tenant_requester_updated ON tickets (tenant_id, requester_id, updated_at);

-- Whether agents and admins of the tenant must use a second factor.
ALTER TABLE tenants ADD COLUMN staff_second_factor INTEGER NOT NULL DEFAULT 0;
