-- Suoja schema v29 (PostgreSQL): the nodes serving one database, and turns at cluster-wide work.
-- Keep in step with ../sqlite/0029_cluster.sql; a test compares them.
--
-- Several Suoja nodes may serve one database. Each writes a heartbeat row under its configured
-- node name (a host name, nobody's personal data), so every node knows how many are alive (the
-- per-node share of a rate limit, the metrics) and an operator sees which. Work that must run
-- once per interval across all the nodes (the retention sweep, the hourly automations) is
-- taken in turns: a node runs it only after moving the turn's `started_at` forward itself.
CREATE TABLE cluster_nodes (
    name TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    seen_at BIGINT NOT NULL
);
CREATE TABLE cluster_turns (
    name TEXT PRIMARY KEY,
    node TEXT NOT NULL,
    started_at BIGINT NOT NULL
);
