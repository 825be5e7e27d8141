-- Suoja schema v41 (SQLite): the ids of each tenant's live tickets (not trashed, not restricted)
-- in an index of their own. A search counts its matches (up to a thousand) by looking each
-- matching id up here, a few bytes an entry, instead of in the table, a page of ticket rows
-- each: at a million tickets 1 000 lookups took ~2.5 ms in the table and ~0.5 ms here. Ids
-- only; nothing a person wrote.
-- Keep in step with ../postgres/0041_tickets_live.sql.
CREATE INDEX tickets_live ON tickets (tenant_id, id) WHERE deleted_at IS NULL AND restricted = 0;
