-- Suoja schema v1 (SQLite). Keep in step with ../postgres/0001_init.sql; a test compares them.
-- Personal values are stored only as ciphertext (*_enc) under per-subject keys, or as keyed
-- hashes (*_hash); every column that can hold personal data is declared in the data map.

CREATE TABLE tenants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subdomain TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE vault_tenant_keys (
    tenant_id INTEGER PRIMARY KEY,
    wrapped BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE vault_subject_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    subject_kind TEXT NOT NULL,
    wrapped BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX vault_subject_keys_tenant ON vault_subject_keys (tenant_id, id);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    role TEXT NOT NULL,
    key_id INTEGER NOT NULL,
    email_hash BLOB,
    email_enc BLOB,
    name_enc BLOB NOT NULL,
    phone_enc BLOB,
    details_enc BLOB,
    notes_enc BLOB,
    tags_enc BLOB,
    external_id_enc BLOB,
    user_fields_enc BLOB,
    organization_id INTEGER,
    locale TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    verified INTEGER NOT NULL,
    active INTEGER NOT NULL,
    suspended INTEGER NOT NULL,
    password_hash TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER,
    last_login_at INTEGER
);
CREATE UNIQUE INDEX users_tenant_email ON users (tenant_id, email_hash);
CREATE INDEX users_tenant_updated ON users (tenant_id, updated_at, id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE INDEX api_tokens_tenant_user ON api_tokens (tenant_id, user_id);

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    details TEXT,
    notes TEXT,
    domain_names TEXT NOT NULL,
    tags TEXT NOT NULL,
    external_id TEXT,
    group_id INTEGER,
    shared_tickets INTEGER NOT NULL,
    shared_comments INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX organizations_tenant_name ON organizations (tenant_id, name);

CREATE TABLE groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX groups_tenant_name ON groups (tenant_id, name);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    requester_id INTEGER NOT NULL,
    submitter_id INTEGER NOT NULL,
    assignee_id INTEGER,
    group_id INTEGER,
    organization_id INTEGER,
    subject_enc BLOB,
    description_enc BLOB NOT NULL,
    status TEXT NOT NULL,
    status_rank INTEGER NOT NULL,
    priority TEXT,
    ticket_type TEXT,
    tags_enc BLOB NOT NULL,
    custom_fields_enc BLOB NOT NULL,
    external_id_enc BLOB,
    due_at INTEGER,
    via TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER,
    deleted_by INTEGER
);
CREATE INDEX tickets_tenant_updated ON tickets (tenant_id, updated_at, id);
CREATE INDEX tickets_tenant_id ON tickets (tenant_id, id);
CREATE INDEX tickets_tenant_requester ON tickets (tenant_id, requester_id);
CREATE INDEX tickets_tenant_assignee ON tickets (tenant_id, assignee_id);
CREATE INDEX tickets_tenant_status ON tickets (tenant_id, status_rank, id);

CREATE TABLE ticket_collaborators (
    tenant_id INTEGER NOT NULL,
    ticket_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, ticket_id, user_id, kind)
);
CREATE INDEX ticket_collaborators_user ON ticket_collaborators (tenant_id, user_id, kind);

CREATE TABLE comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    ticket_id INTEGER NOT NULL,
    author_id INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    public INTEGER NOT NULL,
    body_enc BLOB NOT NULL,
    html_enc BLOB,
    via TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX comments_tenant_ticket ON comments (tenant_id, ticket_id, id);
CREATE INDEX comments_tenant_author ON comments (tenant_id, author_id);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    uploader_id INTEGER NOT NULL,
    upload_token_hash BLOB,
    ticket_id INTEGER,
    comment_id INTEGER,
    file_name_enc BLOB NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_enc BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX attachments_tenant_comment ON attachments (tenant_id, comment_id);
CREATE INDEX attachments_tenant_token ON attachments (tenant_id, upload_token_hash);

CREATE TABLE job_statuses (
    id TEXT PRIMARY KEY,
    tenant_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    total INTEGER NOT NULL,
    progress INTEGER NOT NULL,
    message TEXT,
    results TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX job_statuses_tenant ON job_statuses (tenant_id, created_at);

CREATE TABLE search_postings (
    tenant_id INTEGER NOT NULL,
    token INTEGER NOT NULL,
    doc_kind INTEGER NOT NULL,
    doc_id INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, token, doc_kind, doc_id)
) WITHOUT ROWID;
CREATE INDEX search_postings_doc ON search_postings (tenant_id, doc_kind, doc_id);
