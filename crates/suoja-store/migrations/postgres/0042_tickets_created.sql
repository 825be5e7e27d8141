-- Suoja schema v42 (PostgreSQL): each tenant's tickets in order of creation, so that a view or
-- a search sorted by `created_at` reads its first page along the index instead of sorting
-- every ticket its conditions keep. Times and ids only; nothing a person wrote.
-- Keep in step with ../sqlite/0042_tickets_created.sql.
CREATE INDEX tickets_tenant_created ON tickets (tenant_id, created_at, id);
