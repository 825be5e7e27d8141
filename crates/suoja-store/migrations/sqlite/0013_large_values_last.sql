-- Suoja schema v13 (SQLite): reads that never walk past a large value they do not need.
-- Keep in step with ../postgres/0013_large_values_last.sql; a test compares them.
--
-- SQLite stores a row's columns in order and a large value in a chain of overflow pages, so a
-- read of any column after it walks the whole chain. The per-sender count of mail in the last
-- hour (run for every message that arrives) read each earlier message's sealed original to
-- reach `created_at`: the index below answers it alone.
CREATE INDEX mail_messages_user_created ON mail_messages (tenant_id, user_id, created_at);
DROP INDEX mail_messages_user;
-- An attachment's metadata (listed with every ticket, export and retention pass) came after its
-- sealed content: the table is rebuilt with the content last. Ids stay as they were, and the
-- AUTOINCREMENT counter too, so no id of a deleted file is ever handed out again.
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
