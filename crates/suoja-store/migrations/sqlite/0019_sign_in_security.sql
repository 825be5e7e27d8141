-- Sign-in security a tenant chooses: session limits, a second factor for end users too, and
-- mails on a staff sign-in from a new device.
ALTER TABLE security_settings ADD COLUMN session_idle_minutes INTEGER NOT NULL DEFAULT 30;
ALTER TABLE security_settings ADD COLUMN session_absolute_hours INTEGER NOT NULL DEFAULT 12;
ALTER TABLE security_settings ADD COLUMN end_user_second_factor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE security_settings ADD COLUMN sign_in_alerts INTEGER NOT NULL DEFAULT 1;

-- Single-use recovery codes for a lost second factor: SHA-256 of random codes.
CREATE TABLE recovery_codes (
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    code_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (tenant_id, user_id, code_hash)
);

-- Browsers a person has signed in from: SHA-256 of a random cookie, so a sign-in from a new
-- one can be told to the person.
CREATE TABLE known_devices (
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    device_hash BLOB NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, device_hash)
);
CREATE INDEX known_devices_last_seen ON known_devices (last_seen_at);

-- The admin audit log's client addresses are sealed under the actor's key and again under a
-- key of their 30-day period; the audit_addresses retention policy destroys old periods' keys,
-- leaving the entries (and the ledger's chain) whole.
CREATE TABLE audit_address_keys (
    tenant_id INTEGER NOT NULL,
    period INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, period)
);
