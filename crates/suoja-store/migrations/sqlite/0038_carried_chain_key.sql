-- Suoja schema v38 (SQLite): a tenant's privacy-ledger chain key carried between regions.
-- Keep in step with ../postgres/0038_carried_chain_key.sql; a test compares them.
--
-- A tenant's ledger chain key is derived from its region's root key. When a tenant moves to
-- another region (with its own root key), the key it had is carried with it, sealed under the
-- new region's root key, so every hash of its ledger (and every certificate naming one) stays
-- valid. Empty for tenants that never moved.
ALTER TABLE vault_tenant_keys ADD COLUMN chain_key BLOB;
