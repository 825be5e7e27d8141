-- Suoja schema v13 (PostgreSQL): reads that never walk past a large value they do not need.
-- Keep in step with ../sqlite/0013_large_values_last.sql; a test compares them.
--
-- The per-sender count of mail in the last hour (run for every message that arrives) is
-- answered by this index alone. (The SQLite side also rebuilds `attachments` with the content
-- last; PostgreSQL keeps large values out of line already.)
CREATE INDEX mail_messages_user_created ON mail_messages (tenant_id, user_id, created_at);
DROP INDEX mail_messages_user;
