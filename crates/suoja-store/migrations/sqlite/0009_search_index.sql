-- Suoja schema v9 (SQLite): the search index becomes an FTS5 table, one row per document.
-- Keep in step with ../postgres/0009_search_index.sql; a test compares them.
--
-- Its words are keyed token hashes written as opaque words (`x` and 16 hex digits), never the
-- words themselves. `public` holds what the document's end users can read (a ticket's subject and
-- public comments; a user's or organisation's fields) and begins with a scope word naming the
-- tenant and the kind of document; `internal` holds internal notes and tags, which only staff
-- match. The rowid is the document id times four plus its kind. `secure-delete` makes FTS5 remove
-- a deleted document's entries from its segments instead of leaving delete markers, so an erased
-- document leaves no postings behind. The index is derived: backups leave it out and a restore
-- rebuilds it.
DROP TABLE search_postings;
CREATE VIRTUAL TABLE search_index USING fts5(
    tenant_id UNINDEXED,
    doc_kind UNINDEXED,
    doc_id UNINDEXED,
    public,
    internal,
    tokenize = 'ascii',
    detail = 'column'
);
INSERT INTO search_index (search_index, rank) VALUES ('secure-delete', 1);
