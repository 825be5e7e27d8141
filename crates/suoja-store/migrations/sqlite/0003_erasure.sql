-- Suoja schema v3 (SQLite): erasure jobs and legal holds.
-- Keep in step with ../postgres/0003_erasure.sql; a test compares them.

-- One erasure of one person: the stored plan (ids and counts, never personal values), the step
-- reached, and the result. The row is the durable job: a runner leases it, and a runner that
-- dies loses the lease.
CREATE TABLE erasures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    subject_id INTEGER NOT NULL,
    subject_role TEXT NOT NULL,
    request_id INTEGER,
    origin TEXT NOT NULL,
    state TEXT NOT NULL,
    step INTEGER NOT NULL,
    pass INTEGER NOT NULL,
    plan TEXT NOT NULL,
    done TEXT NOT NULL,
    held TEXT NOT NULL,
    error TEXT,
    actor_id INTEGER,
    leased_until INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    completed_at INTEGER,
    ledger_hash BLOB
);
CREATE INDEX erasures_tenant_subject ON erasures (tenant_id, subject_id);
CREATE INDEX erasures_state ON erasures (state, leased_until);
-- At most one unfinished erasure per person.
CREATE UNIQUE INDEX erasures_one_open ON erasures (tenant_id, subject_id) WHERE state <> 'completed' AND state <> 'failed';

-- Legal holds (Art. 17(3)): data kept despite erasure, restricted while held.
CREATE TABLE legal_holds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    scope TEXT NOT NULL,
    subject_id INTEGER,
    ticket_id INTEGER,
    tag TEXT,
    ground TEXT NOT NULL,
    reference TEXT,
    approver_id INTEGER NOT NULL,
    created_by INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    released_at INTEGER,
    released_by INTEGER
);
CREATE INDEX legal_holds_tenant ON legal_holds (tenant_id, released_at, expires_at);

-- Per-tenant choices of what erasure does where the law leaves a choice.
CREATE TABLE privacy_settings (
    tenant_id INTEGER PRIMARY KEY,
    erasure_comments TEXT NOT NULL,
    updated_by INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Erasure and its read-back find a person's comments by author and need only the ticket and the
-- key: a covering index keeps that an index range scan even when one author wrote millions.
DROP INDEX comments_tenant_author;
CREATE INDEX comments_tenant_author ON comments (tenant_id, author_id, ticket_id, key_id);
