-- Suoja schema v31 (SQLite): takeovers of an export package's build are counted.
-- Keep in step with ../postgres/0031_export_attempts.sql; a test compares them.
--
-- A builder writes (chunks, heartbeat, the end of its build) only while the build's attempt is
-- its own, so a node that was only paused, not dead, stops when it wakes instead of spoiling a
-- package another node took over; after two takeovers a build is failed rather than taken over
-- again. The starter's role and token join the build's options (in `build_options`), so the
-- reads of a rebuild are logged as theirs.
ALTER TABLE export_packages ADD COLUMN build_attempt INTEGER NOT NULL DEFAULT 0;
