-- Suoja schema v37 (SQLite): the search index keeps its documents' words in a table of its own,
-- `search_index_docs`, and the FTS5 table indexes them as external content.
-- Keep in step with ../postgres/0037_search_index_docs.sql (nothing changes there).
--
-- Why: with the words inside the FTS5 table, changing a document (a reply adds forty words to a
-- ticket) meant deleting its row, which in `secure-delete` mode rewrites one segment page for
-- every word it already held, and inserting it again: ~170 KB written per reply. With external
-- content the index can be told exactly which words leave and which come, so a change costs
-- what changed and each (word, document) entry still exists exactly once, where a secure delete
-- finds and removes it. `columnsize = 0`: Suoja ranks by its own measure, not BM25, and FTS5's
-- per-row sizes would not match rows changed this way; nor does its count of rows (a change
-- writing only new words counts as a row), so bm25() and `rank` must never be used here.
--
-- `id` is the FTS5 rowid (document id times four plus its kind) as an explicit INTEGER PRIMARY
-- KEY, so that VACUUM can never renumber it.
CREATE TABLE search_index_docs (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL,
    doc_kind INTEGER NOT NULL,
    doc_id INTEGER NOT NULL,
    public TEXT NOT NULL,
    internal TEXT NOT NULL
);
INSERT INTO search_index_docs (id, tenant_id, doc_kind, doc_id, public, internal)
    SELECT rowid, tenant_id, doc_kind, doc_id, public, internal FROM search_index ORDER BY rowid;
DROP TABLE search_index;
CREATE VIRTUAL TABLE search_index USING fts5(
    tenant_id UNINDEXED,
    doc_kind UNINDEXED,
    doc_id UNINDEXED,
    public,
    internal,
    tokenize = 'ascii',
    detail = 'column',
    content = 'search_index_docs',
    content_rowid = 'id',
    columnsize = 0
);
INSERT INTO search_index (search_index, rank) VALUES ('secure-delete', 1);
INSERT INTO search_index (search_index) VALUES ('rebuild');
-- A new row of words is indexed, and a row deleted takes every entry of its words with it, in
-- the same statement whoever writes it: no code path can leave a document's entries behind.
-- (A change of a row's words tells FTS5 only what changed; see the engine's `change`.)
CREATE TRIGGER search_index_docs_indexed AFTER INSERT ON search_index_docs BEGIN
    INSERT INTO search_index (rowid, tenant_id, doc_kind, doc_id, public, internal)
        VALUES (new.id, new.tenant_id, new.doc_kind, new.doc_id, new.public, new.internal);
END;
CREATE TRIGGER search_index_docs_unindexed AFTER DELETE ON search_index_docs BEGIN
    INSERT INTO search_index (search_index, rowid, tenant_id, doc_kind, doc_id, public, internal)
        VALUES ('delete', old.id, old.tenant_id, old.doc_kind, old.doc_id, old.public, old.internal);
END;
