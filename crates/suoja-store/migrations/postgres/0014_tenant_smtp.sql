-- Suoja schema v14 (PostgreSQL): a tenant's own SMTP server.
-- Keep in step with ../sqlite/0014_tenant_smtp.sql; a test compares them.
--
-- The server's URL (with its password) is sealed under a key of its own, destroyed when the
-- tenant's admins remove or replace it. Unset: the installation's server sends the tenant's mail.
ALTER TABLE mail_settings ADD COLUMN smtp_key_id BIGINT;
ALTER TABLE mail_settings ADD COLUMN smtp_enc BYTEA;
