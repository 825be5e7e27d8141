-- Suoja schema v25 (SQLite): business rules — views and macros.
-- Keep in step with ../postgres/0025_business_rules.sql; a test compares them.
--
-- A rule is what an admin or an agent writes: a title, a description, and its definition as
-- JSON (a view's conditions, columns and order; a macro's actions). It holds no one's values
-- beyond what its writer typed. `owner_id` marks an agent's personal view or macro (deleted
-- with them); `rule_key` names a default rule Suoja gives every tenant (the workspace's
-- queues), unique per kind, so defaults are added once.
CREATE TABLE business_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    rule_key TEXT,
    owner_id INTEGER,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    position INTEGER NOT NULL DEFAULT 0,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX business_rules_key ON business_rules (tenant_id, kind, rule_key);
CREATE INDEX business_rules_kind ON business_rules (tenant_id, kind, position, id);
CREATE INDEX business_rules_owner ON business_rules (tenant_id, owner_id);
