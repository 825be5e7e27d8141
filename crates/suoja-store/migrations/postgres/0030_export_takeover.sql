-- Suoja schema v30 (PostgreSQL): what another node needs to finish an export package's build.
-- Keep in step with ../sqlite/0030_export_takeover.sql; a test compares them.
--
-- A package's build runs on the node that started it. When that node dies, another node takes
-- the build over once its heartbeat has gone silent, and builds the package again from the
-- start under the same id and key (the key is sealed under the person's key in
-- `file_key_enc`). For that it needs who started the build (the ledger names them) and the
-- build's options (which tickets, whether internal notes are included, the starter's role and
-- token, so the rebuild's reads are logged as theirs): ids and words only. `build_attempt`
-- counts takeovers: a builder writes only while the attempt is its own, so a node that was
-- only paused, not dead, stops when it wakes instead of spoiling the package; after three
-- attempts the build is failed rather than taken over again.
ALTER TABLE export_packages ADD COLUMN started_by BIGINT;
ALTER TABLE export_packages ADD COLUMN build_options TEXT;
ALTER TABLE export_packages ADD COLUMN build_attempt BIGINT NOT NULL DEFAULT 0;
