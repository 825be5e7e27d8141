-- Suoja schema v11 (SQLite): the e-mail channel.
-- Keep in step with ../postgres/0011_mail.sql; a test compares them.
--
-- Each message received is kept once, sealed under the key of the comment it became, so an
-- agent can open the original and the person's export carries it; it goes with its ticket,
-- with its sender's erasure and with a redaction of its comment.
CREATE TABLE mail_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    ticket_id INTEGER NOT NULL,
    comment_id INTEGER,
    key_id INTEGER NOT NULL,
    dedupe_hash BLOB NOT NULL,
    raw_enc BLOB NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX mail_messages_dedupe ON mail_messages (tenant_id, dedupe_hash);
CREATE INDEX mail_messages_user ON mail_messages (tenant_id, user_id);
CREATE INDEX mail_messages_ticket ON mail_messages (tenant_id, ticket_id);
CREATE INDEX mail_messages_comment ON mail_messages (tenant_id, comment_id);
-- The people (users of the tenant) a message was also addressed to: their addresses are in its
-- headers, so their erasure takes the message.
CREATE TABLE mail_recipients (
    tenant_id INTEGER NOT NULL,
    mail_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, mail_id, user_id)
);
CREATE INDEX mail_recipients_user ON mail_recipients (tenant_id, user_id);
-- Which ticket a Message-ID (received or sent) belongs to, as a keyed hash: a reply's
-- In-Reply-To and References find their ticket here.
CREATE TABLE mail_threads (
    tenant_id INTEGER NOT NULL,
    message_hash BLOB NOT NULL,
    ticket_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, message_hash)
);
CREATE INDEX mail_threads_ticket ON mail_threads (tenant_id, ticket_id);
-- The outbox becomes a queue of jobs: claimed with a lease, retried with backoff, and once sent
-- it keeps no body, only its Message-ID, kind and status.
ALTER TABLE mail_outbox ADD COLUMN ticket_id INTEGER;
ALTER TABLE mail_outbox ADD COLUMN status TEXT NOT NULL DEFAULT 'queued';
ALTER TABLE mail_outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mail_outbox ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mail_outbox ADD COLUMN leased_until INTEGER;
ALTER TABLE mail_outbox ADD COLUMN message_id TEXT;
ALTER TABLE mail_outbox ADD COLUMN error TEXT;
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
-- A bounce names the message it answers by its Message-ID; a ticket lists what failed to reach people.
CREATE INDEX mail_outbox_message ON mail_outbox (tenant_id, message_id);
CREATE INDEX mail_outbox_ticket ON mail_outbox (tenant_id, ticket_id);
-- Which ticket notifications a tenant sends (all on until an admin switches one off).
CREATE TABLE mail_settings (
    tenant_id INTEGER PRIMARY KEY,
    notify_received INTEGER NOT NULL DEFAULT 1,
    notify_replies INTEGER NOT NULL DEFAULT 1,
    notify_assignee INTEGER NOT NULL DEFAULT 1,
    updated_by INTEGER,
    updated_at INTEGER NOT NULL
);
-- Messages to the privacy address already handled (keyed hashes): a second delivery of one
-- opens no second request; the sender's user id when they are on record. Kept 30 days.
CREATE TABLE mail_seen (
    tenant_id INTEGER NOT NULL,
    user_id INTEGER,
    dedupe_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, dedupe_hash)
);
