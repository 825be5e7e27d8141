-- Suoja schema v8 (SQLite): confirmation links found by an unguessable reference, export
-- packages built as jobs and kept in sealed chunks, upload quotas, key invalidation across nodes
-- and wrapped keys bound to their ids.
-- Keep in step with ../postgres/0008_hardening.sql; a test compares them.

-- A privacy request's confirmation link names a random reference (not the request's number) and
-- a secret whose hash is kept in token_hash. Links made before this version have no reference
-- and can no longer be used; they expired within a day anyway.
ALTER TABLE privacy_verifications ADD COLUMN reference TEXT;
CREATE UNIQUE INDEX privacy_verifications_reference ON privacy_verifications (reference);

-- Export packages are built as jobs: a row is made at once with status 'building' (one at a time
-- per person; the builder beats a heartbeat so a build whose node died is seen as failed), and
-- the content is stored in chunks of 1 MiB, each sealed under the package's own random key,
-- which is sealed under the person's key in file_key_enc. Packages from before this version
-- keep their whole content in content_enc (chunks is NULL for them).
ALTER TABLE export_packages ADD COLUMN status TEXT NOT NULL DEFAULT 'ready';
ALTER TABLE export_packages ADD COLUMN chunks INTEGER;
ALTER TABLE export_packages ADD COLUMN file_key_enc BLOB;
ALTER TABLE export_packages ADD COLUMN heartbeat_at INTEGER;
CREATE INDEX export_packages_subject_created ON export_packages (tenant_id, subject_id, created_at);
-- One build per person at a time, across nodes (a dead build is marked failed before another starts).
CREATE UNIQUE INDEX export_packages_one_building ON export_packages (tenant_id, subject_id) WHERE status = 'building';

CREATE TABLE export_chunks (
    tenant_id INTEGER NOT NULL,
    package_id TEXT NOT NULL,
    subject_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    content_enc BLOB NOT NULL,
    PRIMARY KEY (package_id, seq)
);
CREATE INDEX export_chunks_subject ON export_chunks (tenant_id, subject_id);

-- Per-person upload quotas count what a person uploaded in the last day.
CREATE INDEX attachments_uploader_created ON attachments (tenant_id, uploader_id, created_at);

-- Destroying a subject key bumps its tenant's generation in the same transaction; every node
-- compares a cached key's generation with this before using it, so a key destroyed on one node
-- is used by no other.
ALTER TABLE vault_tenant_keys ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
-- Subject keys are wrapped with their own id bound in (a wrapped key moved to another row does
-- not open); keys wrapped before this version are re-wrapped when Suoja next starts.
ALTER TABLE vault_subject_keys ADD COLUMN bound INTEGER NOT NULL DEFAULT 0;
