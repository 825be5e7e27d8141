-- Suoja schema v9 (PostgreSQL): the search index becomes one row per document with its keyed
-- token hashes in arrays under GIN indexes.
-- Keep in step with ../sqlite/0009_search_index.sql; a test compares them.
--
-- `public` holds the tokens of what the document's end users can read (a ticket's subject and
-- public comments; a user's or organisation's fields), `internal` those of internal notes and
-- tags, which only staff match. Staff queries use the index on both together, end users' the
-- index on `public`. `fastupdate` is off so that an entry is in the index proper at once (no
-- pending list holding an erased document's tokens until the next vacuum). The index is derived:
-- backups leave it out and a restore rebuilds it.
DROP TABLE search_postings;
CREATE TABLE search_index (
    tenant_id BIGINT NOT NULL,
    doc_kind BIGINT NOT NULL,
    doc_id BIGINT NOT NULL,
    public BIGINT[] NOT NULL,
    internal BIGINT[] NOT NULL,
    PRIMARY KEY (tenant_id, doc_kind, doc_id)
);
CREATE INDEX search_index_public ON search_index USING gin (public) WITH (fastupdate = off);
CREATE INDEX search_index_all ON search_index USING gin ((public || internal)) WITH (fastupdate = off);
