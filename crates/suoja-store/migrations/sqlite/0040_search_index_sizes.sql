-- Suoja schema v40 (SQLite): each indexed document's size in bytes (public and internal text)
-- beside its row id, so that ranking the newest thousand matches of a search reads these small
-- index entries instead of each document's words (a page of the table each). The sizes are
-- those of words written as hashes, not of anything a person wrote, and go with the row.
-- Keep in step with ../postgres/0040_search_index_sizes.sql.
-- `length`, not `octet_length`, though the words are ASCII (both count the same): SQLite's
-- command-line shells before 3.43 have no `octet_length`, and could then neither check nor
-- write this table.
CREATE INDEX search_index_docs_size ON search_index_docs (id, length(public), length(internal));
