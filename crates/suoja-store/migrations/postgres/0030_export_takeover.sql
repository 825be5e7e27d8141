-- Suoja schema v30 (PostgreSQL): what another node needs to finish an export package's build.
-- Keep in step with ../sqlite/0030_export_takeover.sql; a test compares them.
--
-- A package's build runs on the node that started it. When that node dies, another node takes
-- the build over once its heartbeat has gone silent, and builds the package again from the
-- start under the same id and key (the key is sealed under the person's key in
-- `file_key_enc`). For that it needs who started the build (the ledger names them) and the
-- build's options (which tickets, whether internal notes are included): ids and words only.
ALTER TABLE export_packages ADD COLUMN started_by BIGINT;
ALTER TABLE export_packages ADD COLUMN build_options TEXT;
