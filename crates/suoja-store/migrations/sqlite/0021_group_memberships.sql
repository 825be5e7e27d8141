-- Which agents work in which groups (Zendesk's group memberships): staff data, erased with the
-- agent, deleted with the group. One row per agent and group; one of an agent's groups may be
-- their default.
CREATE TABLE group_memberships (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    group_id INTEGER NOT NULL,
    is_default INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX group_memberships_pair ON group_memberships (tenant_id, user_id, group_id);
CREATE INDEX group_memberships_group ON group_memberships (tenant_id, group_id, id);
