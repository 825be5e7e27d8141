-- Suoja schema v2 (SQLite): data-subject requests, the ledger, consultation and disclosure logs,
-- export packages, outbound webhooks, the durable work queue and restriction flags.
-- Keep in step with ../postgres/0002_privacy.sql; a test compares them.

ALTER TABLE users ADD COLUMN restricted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN privacy_officer INTEGER NOT NULL DEFAULT 0;
-- The subject graph finds a person's rows by every link the data map declares.
CREATE INDEX tickets_tenant_submitter ON tickets (tenant_id, submitter_id);
CREATE INDEX attachments_tenant_uploader ON attachments (tenant_id, uploader_id);
CREATE INDEX attachments_tenant_ticket ON attachments (tenant_id, ticket_id);

ALTER TABLE tickets ADD COLUMN restricted INTEGER NOT NULL DEFAULT 0;

CREATE TABLE privacy_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    subject_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    opened_by INTEGER,
    received_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    original_due_at INTEGER NOT NULL,
    extended_at INTEGER,
    verified_at INTEGER,
    verification TEXT,
    closed_at INTEGER,
    outcome_code TEXT,
    key_id INTEGER NOT NULL,
    details_enc BLOB,
    withheld TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX privacy_requests_tenant_due ON privacy_requests (tenant_id, closed_at, due_at);
CREATE INDEX privacy_requests_tenant_subject ON privacy_requests (tenant_id, subject_id);

CREATE TABLE privacy_verifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    request_id INTEGER NOT NULL,
    subject_id INTEGER NOT NULL,
    token_hash BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    used_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX privacy_verifications_request ON privacy_verifications (tenant_id, request_id);
CREATE INDEX privacy_verifications_subject ON privacy_verifications (tenant_id, subject_id, created_at);

CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    body_enc BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX mail_outbox_tenant_user ON mail_outbox (tenant_id, user_id);

CREATE TABLE ledger (
    tenant_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    subject_id INTEGER,
    actor_id INTEGER,
    details TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE ledger_heads (
    tenant_id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash BLOB NOT NULL
);

CREATE TABLE consultations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    subject_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor_id INTEGER NOT NULL,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    purpose TEXT NOT NULL
);
CREATE INDEX consultations_subject ON consultations (tenant_id, subject_id, at);

CREATE TABLE export_packages (
    id TEXT PRIMARY KEY,
    tenant_id INTEGER NOT NULL,
    request_id INTEGER,
    subject_id INTEGER NOT NULL,
    format TEXT NOT NULL,
    content_enc BLOB NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    downloads INTEGER NOT NULL
);
CREATE INDEX export_packages_tenant_subject ON export_packages (tenant_id, subject_id);
CREATE INDEX export_packages_expiry ON export_packages (expires_at);

CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    status TEXT NOT NULL,
    subscriptions TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id, id);

CREATE TABLE disclosures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    subject_id INTEGER NOT NULL,
    recipient_id INTEGER NOT NULL,
    event TEXT NOT NULL,
    categories TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX disclosures_subject ON disclosures (tenant_id, subject_id, at);

CREATE TABLE work_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    run_after INTEGER NOT NULL,
    locked_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX work_queue_ready ON work_queue (state, run_after);
