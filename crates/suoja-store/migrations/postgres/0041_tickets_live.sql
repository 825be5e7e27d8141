-- Suoja schema v41 (PostgreSQL): nothing changes. On SQLite this version indexes the ids of each
-- tenant's live tickets, so that a search's count looks its matches up there rather than in
-- the table; PostgreSQL's planner chooses its own way to join the matches to the tickets.
-- Keep in step with ../sqlite/0041_tickets_live.sql.
SELECT 1;
