-- Suoja schema v43 (PostgreSQL): nothing changes. On SQLite this version has the writer index a
-- shared transaction's new documents together just before it commits (one FTS5 segment for the
-- batch instead of one per request). Here GIN takes each document's entries as it is written.
-- Keep in step with ../sqlite/0043_search_index_deferred.sql.
SELECT 1;
