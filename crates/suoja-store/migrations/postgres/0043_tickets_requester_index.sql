-- Suoja schema v43 (PostgreSQL): one index less written with every ticket. The index of a
-- tenant's tickets by requester is the first part of the one by requester and time of change
-- (`tickets_tenant_requester_updated`), which answers every lookup it answered.
-- Keep in step with ../sqlite/0043_tickets_requester_index.sql.
DROP INDEX IF EXISTS tickets_tenant_requester;
