-- Suoja schema v10 (SQLite): a blind index of ticket tags.
-- Keep in step with ../postgres/0010_ticket_tags.sql; a test compares them.
--
-- One row per tag on a ticket, holding a keyed hash of the tag (never the tag), kept in the same
-- transaction as the ticket's sealed tags. Legal holds by tag find their tickets here rather
-- than in the search index, which is derived data a restore rebuilds. Rows for tickets that
-- existed before this table are filled in by the server at start.
CREATE TABLE ticket_tags (
    tenant_id INTEGER NOT NULL,
    ticket_id INTEGER NOT NULL,
    tag_hash BLOB NOT NULL,
    PRIMARY KEY (tenant_id, tag_hash, ticket_id)
);
CREATE INDEX ticket_tags_ticket ON ticket_tags (tenant_id, ticket_id);
-- Tenants whose tickets (from before this table) still need their tag rows; the server fills
-- them in at start and removes the tenant from this list.
CREATE TABLE ticket_tags_backfill (tenant_id INTEGER PRIMARY KEY);
INSERT INTO ticket_tags_backfill (tenant_id) SELECT id FROM tenants;
