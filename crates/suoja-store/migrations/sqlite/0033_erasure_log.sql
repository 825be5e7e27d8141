-- Suoja schema v33 (SQLite): the erasure ledger's lines in the database.
-- Keep in step with ../postgres/0033_erasure_log.sql; a test compares them.
--
-- Every line of the erasure ledger (a completed erasure, a redaction, a backup's checkpoint: ids
-- and times, never a personal value) is written here as well as into the ledger file of the node
-- that wrote it and beside the backups. Every node copies the lines it did not write into its
-- own file, so any node can replay the ledger after the database is put back from an older copy,
-- and no node's disk holds the only record of an erasure. `digest` (SHA-256 of the line) keeps
-- one row per line.
CREATE TABLE erasure_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    digest TEXT NOT NULL UNIQUE,
    line TEXT NOT NULL,
    written_at INTEGER NOT NULL
);
