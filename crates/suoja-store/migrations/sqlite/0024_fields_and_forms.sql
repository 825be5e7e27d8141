-- Suoja schema v24 (SQLite): ticket, user and organisation fields, and ticket forms.
-- Keep in step with ../postgres/0024_fields_and_forms.sql; a test compares them.
--
-- A field's definition is what an admin types (a title, a description, the options of a
-- drop-down); the values people give are kept where they were before: sealed in a ticket's
-- `custom_fields_enc` and a user's `user_fields_enc`, and in an organisation's
-- `organization_fields`. `owner` says whose field it is (ticket, user or organization);
-- a ticket's system fields (subject, description, status, …) are rows too, marked `system`,
-- so that forms name them by id. `field_key` is a user or organisation field's key, or a
-- system field's kind; it is unique per owner.
CREATE TABLE field_definitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    owner TEXT NOT NULL,
    system INTEGER NOT NULL DEFAULT 0,
    field_type TEXT NOT NULL,
    field_key TEXT,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    title_in_portal TEXT,
    position INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    required INTEGER NOT NULL DEFAULT 0,
    required_in_portal INTEGER NOT NULL DEFAULT 0,
    visible_in_portal INTEGER NOT NULL DEFAULT 0,
    editable_in_portal INTEGER NOT NULL DEFAULT 0,
    regexp TEXT,
    tag TEXT,
    options TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX field_definitions_key ON field_definitions (tenant_id, owner, field_key);
CREATE INDEX field_definitions_owner ON field_definitions (tenant_id, owner, position, id);

-- A ticket form: which fields, in which order, an agent or a requester fills in.
CREATE TABLE ticket_forms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    is_default INTEGER NOT NULL DEFAULT 0,
    end_user_visible INTEGER NOT NULL DEFAULT 1,
    field_ids TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX ticket_forms_tenant ON ticket_forms (tenant_id, position, id);

ALTER TABLE tickets ADD COLUMN ticket_form_id INTEGER;
ALTER TABLE organizations ADD COLUMN organization_fields TEXT;
