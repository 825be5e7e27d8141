-- Suoja schema v42 (SQLite): each tenant's tickets in order of creation. A view or a search
-- sorted by `created_at` reads its first page along this index and stops there; without it
-- every ticket the conditions keep was read and sorted (about 0.9 s for a view of open tickets
-- at a million tickets). Times and ids only; nothing a person wrote.
-- Keep in step with ../postgres/0042_tickets_created.sql.
CREATE INDEX tickets_tenant_created ON tickets (tenant_id, created_at, id);
