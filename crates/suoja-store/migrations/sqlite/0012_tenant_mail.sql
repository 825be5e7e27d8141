-- Suoja schema v12 (SQLite): each tenant's own mail addresses and mailboxes.
-- Keep in step with ../postgres/0012_tenant_mail.sql; a test compares them.
--
-- A tenant's support and privacy addresses (the installation's when unset).
ALTER TABLE mail_settings ADD COLUMN support_address TEXT;
ALTER TABLE mail_settings ADD COLUMN privacy_address TEXT;
-- The IMAP mailboxes a tenant's admins added. The URL (with its password) is sealed under a key
-- of the mailbox's own, destroyed when the mailbox is removed. A node fetching one holds a lease
-- on it, so two nodes never empty the same mailbox at once.
CREATE TABLE mail_mailboxes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    url_enc BLOB NOT NULL,
    last_ok_at INTEGER,
    last_error TEXT,
    leased_until INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    created_by INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX mail_mailboxes_tenant ON mail_mailboxes (tenant_id);
