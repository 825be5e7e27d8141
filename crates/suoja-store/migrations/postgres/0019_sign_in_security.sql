-- Sign-in security a tenant chooses: session limits, a second factor for end users too, and
-- mails on a staff sign-in from a new device.
ALTER TABLE security_settings ADD COLUMN session_idle_minutes BIGINT NOT NULL DEFAULT 30;
ALTER TABLE security_settings ADD COLUMN session_absolute_hours BIGINT NOT NULL DEFAULT 12;
ALTER TABLE security_settings ADD COLUMN end_user_second_factor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE security_settings ADD COLUMN sign_in_alerts BIGINT NOT NULL DEFAULT 1;

-- Single-use recovery codes for a lost second factor: SHA-256 of random codes.
CREATE TABLE recovery_codes (
    tenant_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    code_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (tenant_id, user_id, code_hash)
);

-- Browsers a person has signed in from: SHA-256 of a random cookie, so a sign-in from a new
-- one can be told to the person.
CREATE TABLE known_devices (
    tenant_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    device_hash BYTEA NOT NULL,
    first_seen_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, device_hash)
);
CREATE INDEX known_devices_last_seen ON known_devices (last_seen_at);

-- The admin audit log's client addresses are sealed under the actor's key and again under a
-- key of their 30-day period; the audit_addresses retention policy destroys old periods' keys,
-- leaving the entries (and the ledger's chain) whole.
CREATE TABLE audit_address_keys (
    tenant_id BIGINT NOT NULL,
    period BIGINT NOT NULL,
    key_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, period)
);
