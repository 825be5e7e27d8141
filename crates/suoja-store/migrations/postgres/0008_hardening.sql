-- Suoja schema v8 (PostgreSQL): confirmation links found by an unguessable reference.
-- Keep in step with ../sqlite/0008_hardening.sql; a test compares them.

-- A privacy request's confirmation link names a random reference (not the request's number) and
-- a secret whose hash is kept in token_hash. Links made before this version have no reference
-- and can no longer be used; they expired within a day anyway.
ALTER TABLE privacy_verifications ADD COLUMN reference TEXT;
CREATE UNIQUE INDEX privacy_verifications_reference ON privacy_verifications (reference);
