-- Suoja schema v23 (SQLite): tickets' external ids in the search index.
-- Keep in step with ../postgres/0023_external_id_index.sql; a test compares them.

-- Tickets given an external id before now are indexed by it (for `GET /tickets?external_id=`)
-- once, by the server at its next start, tenant by tenant.
CREATE TABLE ticket_external_id_backfill (tenant_id INTEGER PRIMARY KEY);
INSERT INTO ticket_external_id_backfill (tenant_id) SELECT DISTINCT tenant_id FROM tickets WHERE external_id_enc IS NOT NULL;
