-- Suoja schema v37 (PostgreSQL): nothing changes. On SQLite this version moves the search
-- index's words into a table of their own (`search_index_docs`) that the FTS5 table indexes as
-- external content, so a document's change writes only what changed. Here a document is already
-- one row of arrays under GIN indexes.
-- Keep in step with ../sqlite/0037_search_index_docs.sql.
SELECT 1;
