-- Suoja schema v27 (SQLite): the node that served each consultation.
-- Keep in step with ../postgres/0027_consultation_node.sql; a test compares them.
--
-- Several Suoja nodes share one database. When one node is compromised (its memory read, its
-- process hijacked), a breach is scoped to what that node served in a time window: every
-- consultation row now names the node that wrote it (its configured `node_name`). Rows
-- written before this version name none and are found by token, staff member or ticket.
ALTER TABLE consultations ADD COLUMN node TEXT;
CREATE INDEX consultations_node ON consultations (tenant_id, node, at);
