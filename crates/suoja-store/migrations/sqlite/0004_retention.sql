-- Suoja schema v4 (SQLite): redaction history and retention schedules.
-- Keep in step with ../postgres/0004_retention.sql; a test compares them.

-- When a ticket was last solved or closed: the retention clock of closed tickets. Only a status
-- change moves it, so a redaction (or any other edit) does not restart it.
ALTER TABLE tickets ADD COLUMN closed_at INTEGER;
UPDATE tickets SET closed_at = updated_at WHERE status IN ('solved', 'closed');
CREATE INDEX tickets_tenant_closed ON tickets (tenant_id, closed_at) WHERE closed_at IS NOT NULL;
-- The trash policy finds tickets deleted long enough ago without reading the live ones.
CREATE INDEX tickets_tenant_deleted ON tickets (tenant_id, deleted_at) WHERE deleted_at IS NOT NULL;

-- A redacted attachment keeps its row (type, size, time) as a placeholder; its content is gone.
ALTER TABLE attachments ADD COLUMN redacted_at INTEGER;
CREATE INDEX attachments_tenant_created ON attachments (tenant_id, created_at);

-- A ticket's history of redactions: what was redacted, by whom and when, never the text.
CREATE TABLE ticket_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    ticket_id INTEGER NOT NULL,
    actor_id INTEGER,
    kind TEXT NOT NULL,
    comment_id INTEGER,
    attachment_id INTEGER,
    field_id INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX ticket_events_ticket ON ticket_events (tenant_id, ticket_id, id);

-- Per-tenant retention policies that differ from the documented defaults.
CREATE TABLE retention_policies (
    tenant_id INTEGER NOT NULL,
    policy TEXT NOT NULL,
    value INTEGER NOT NULL,
    enabled INTEGER NOT NULL,
    updated_by INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, policy)
);
