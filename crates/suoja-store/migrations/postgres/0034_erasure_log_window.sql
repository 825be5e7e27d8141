-- Suoja schema v34 (PostgreSQL): the erasure ledger's lines found by when they were written.
-- Keep in step with ../sqlite/0034_erasure_log_window.sql; a test compares them.
--
-- Each node copies into its own ledger file the lines written to the database in the last few
-- minutes that its file lacks (by time, not by row number: a row numbered lower may commit
-- after one numbered higher, and numbers skip).
CREATE INDEX erasure_log_written ON erasure_log (written_at);
