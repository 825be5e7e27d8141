-- Suoja schema v36 (PostgreSQL): received mail and export packages' chunks in the blob store too.
-- Keep in step with ../sqlite/0036_more_blobs.sql; a test compares them.
--
-- As attachments in v35: with a blob store configured, the sealed bytes are a blob named by
-- `blob_key` and the row's column is left empty; a row deleted or given another blob puts its
-- old key into `blob_trash` in the same transaction (v35's trigger function reads only
-- `tenant_id` and `blob_key`, which these tables have too).
ALTER TABLE mail_messages ADD COLUMN blob_key TEXT;
CREATE INDEX mail_messages_blob_key ON mail_messages (blob_key) WHERE blob_key IS NOT NULL;
ALTER TABLE export_chunks ADD COLUMN blob_key TEXT;
CREATE INDEX export_chunks_blob_key ON export_chunks (blob_key) WHERE blob_key IS NOT NULL;
CREATE TRIGGER mail_messages_blob_deleted AFTER DELETE ON mail_messages
    FOR EACH ROW EXECUTE FUNCTION attachments_blob_to_trash();
CREATE TRIGGER mail_messages_blob_replaced AFTER UPDATE OF blob_key ON mail_messages
    FOR EACH ROW EXECUTE FUNCTION attachments_blob_to_trash();
CREATE TRIGGER export_chunks_blob_deleted AFTER DELETE ON export_chunks
    FOR EACH ROW EXECUTE FUNCTION attachments_blob_to_trash();
CREATE TRIGGER export_chunks_blob_replaced AFTER UPDATE OF blob_key ON export_chunks
    FOR EACH ROW EXECUTE FUNCTION attachments_blob_to_trash();
