-- Suoja schema v40 (PostgreSQL): nothing changes. On SQLite this version indexes each search
-- document's size beside its row id, so that ranking a search's newest matches reads no
-- document's words; here the ranking counts the elements of a document's arrays.
-- Keep in step with ../sqlite/0040_search_index_sizes.sql.
SELECT 1;
