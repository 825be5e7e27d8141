-- Suoja schema v22 (SQLite): a ticket's audits, Zendesk's record of every change.
-- Keep in step with ../postgres/0022_ticket_audits.sql; a test compares them.
--
-- One row per change: who (NULL for Suoja itself), through which channel, and its events as
-- JSON holding only event types, field names, ids and statuses. Values that may be personal (a
-- subject, tags, custom field values) are sealed together in `values_enc` under the ticket's key,
-- so they are exported, redacted and erased with the ticket they describe.
CREATE TABLE ticket_audits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    ticket_id INTEGER NOT NULL,
    author_id INTEGER,
    via TEXT NOT NULL,
    events TEXT NOT NULL,
    key_id INTEGER,
    values_enc BLOB,
    created_at INTEGER NOT NULL
);
CREATE INDEX ticket_audits_ticket ON ticket_audits (tenant_id, ticket_id, id);
CREATE INDEX ticket_audits_tenant_time ON ticket_audits (tenant_id, created_at, id);

-- The redactions recorded so far become audits of their own (the redaction history stays as the
-- record a restore replays).
INSERT INTO ticket_audits (tenant_id, ticket_id, author_id, via, events, key_id, values_enc, created_at)
SELECT tenant_id, ticket_id, actor_id, CASE WHEN actor_id IS NULL THEN 'rule' ELSE 'api' END,
       json_array(json_object('type', kind, 'comment_id', comment_id, 'attachment_id', attachment_id, 'field_id', field_id)),
       NULL, NULL, created_at
FROM ticket_events ORDER BY id;
