-- Suoja schema v35 (SQLite): files' bytes in a blob store.
-- Keep in step with ../postgres/0035_blobs.sql; a test compares them.
--
-- With a blob store configured, an attachment's sealed bytes are a blob named by `blob_key`
-- and `content_enc` is left empty (without one, or for files stored before, the bytes stay in
-- `content_enc` and `blob_key` is NULL). A row deleted, or given another blob or none, puts its
-- old key into `blob_trash` in the same transaction; the blob store deletes what the trash
-- holds, checks each blob is gone and then takes it out. No path that deletes a row can
-- forget its blob, and a crash in between leaves the key in the trash, not the blob unnamed.
--
-- SQLite appends an added column after the others, where reading it would walk the chain of
-- overflow pages of a large `content_enc` (see v13): the table is rebuilt once more with
-- `blob_key` before the content, ids and the AUTOINCREMENT counter kept.
CREATE TABLE attachments_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    uploader_id INTEGER NOT NULL,
    upload_token_hash BLOB,
    ticket_id INTEGER,
    comment_id INTEGER,
    file_name_enc BLOB NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    redacted_at INTEGER,
    blob_key TEXT,
    content_enc BLOB NOT NULL
);
INSERT INTO attachments_rebuilt (id, tenant_id, key_id, uploader_id, upload_token_hash, ticket_id, comment_id, file_name_enc, content_type, size, created_at, redacted_at, content_enc)
    SELECT id, tenant_id, key_id, uploader_id, upload_token_hash, ticket_id, comment_id, file_name_enc, content_type, size, created_at, redacted_at, content_enc FROM attachments;
DELETE FROM sqlite_sequence WHERE name = 'attachments_rebuilt';
INSERT INTO sqlite_sequence (name, seq) SELECT 'attachments_rebuilt', seq FROM sqlite_sequence WHERE name = 'attachments';
DROP TABLE attachments;
ALTER TABLE attachments_rebuilt RENAME TO attachments;
CREATE INDEX attachments_tenant_comment ON attachments (tenant_id, comment_id);
CREATE INDEX attachments_tenant_token ON attachments (tenant_id, upload_token_hash);
CREATE INDEX attachments_tenant_uploader ON attachments (tenant_id, uploader_id);
CREATE INDEX attachments_tenant_ticket ON attachments (tenant_id, ticket_id);
CREATE INDEX attachments_tenant_created ON attachments (tenant_id, created_at);
CREATE INDEX attachments_uploader_created ON attachments (tenant_id, uploader_id, created_at);
CREATE INDEX attachments_blob_key ON attachments (blob_key) WHERE blob_key IS NOT NULL;
CREATE TABLE blob_trash (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    blob_key TEXT NOT NULL,
    -- When a node took the entry to delete its blob (NULL: waiting); taken entries stay
    -- until the blob is gone, so an erasure's read-back still counts them.
    claimed_at INTEGER
);
CREATE INDEX blob_trash_tenant ON blob_trash (tenant_id, id);
CREATE INDEX blob_trash_key ON blob_trash (blob_key);
CREATE TRIGGER attachments_blob_deleted AFTER DELETE ON attachments
WHEN OLD.blob_key IS NOT NULL
BEGIN
    INSERT INTO blob_trash (tenant_id, blob_key) VALUES (OLD.tenant_id, OLD.blob_key);
END;
CREATE TRIGGER attachments_blob_replaced AFTER UPDATE OF blob_key ON attachments
WHEN OLD.blob_key IS NOT NULL AND (NEW.blob_key IS NULL OR NEW.blob_key <> OLD.blob_key)
BEGIN
    INSERT INTO blob_trash (tenant_id, blob_key) VALUES (OLD.tenant_id, OLD.blob_key);
END;
