-- Suoja schema v43 (SQLite): a new document's words reach the FTS5 index once per shared
-- transaction, just before it commits, instead of as each row is inserted.
-- Keep in step with ../postgres/0043_search_index_deferred.sql (nothing changes there).
--
-- Why: the writer's group commit runs each request in a savepoint, and FTS5 writes everything it
-- holds in memory to a new segment whenever a savepoint (or a statement's own) begins; every new
-- ticket became a segment of its own, merged again and again, and a request's later statements
-- paid for the write. Now an inserted row of words is only noted in `search_index_pending`; the
-- writer indexes the noted rows together before the commit (one segment for the batch), and
-- before anything on the writer reads the index or changes a document's entries, so what the
-- index answers inside a transaction is what it would have answered before.
--
-- The table holds document ids only, never words, and is empty whenever no transaction is open.
CREATE TABLE search_index_pending (id INTEGER PRIMARY KEY);
DROP TRIGGER search_index_docs_indexed;
CREATE TRIGGER search_index_docs_indexed AFTER INSERT ON search_index_docs BEGIN
    INSERT INTO search_index_pending (id) VALUES (new.id);
END;
-- A row deleted before it was indexed has no entries to delete (telling FTS5 to delete entries
-- it never had would corrupt the index); it only leaves the list.
DROP TRIGGER search_index_docs_unindexed;
CREATE TRIGGER search_index_docs_unindexed AFTER DELETE ON search_index_docs BEGIN
    INSERT INTO search_index (search_index, rowid, tenant_id, doc_kind, doc_id, public, internal)
        SELECT 'delete', old.id, old.tenant_id, old.doc_kind, old.doc_id, old.public, old.internal
        WHERE NOT EXISTS (SELECT 1 FROM search_index_pending WHERE id = old.id);
    DELETE FROM search_index_pending WHERE id = old.id;
END;
