-- Suoja schema v32 (PostgreSQL): records brought over from another helpdesk, and where an import stands.
-- Keep in step with ../sqlite/0032_imports.sql; a test compares them.
--
-- An import remembers, for every record it brought over, the record's id at the source and the
-- id it has here, written in the same transaction as the record itself: running an import again,
-- or resuming one that was interrupted, finds what is already here and changes nothing. The rows
-- hold ids only. They stay after the person is erased, so a later import does not bring an erased
-- person back. `source` names the other helpdesk's account (its host name).
CREATE TABLE import_map (
    tenant_id BIGINT NOT NULL,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_id BIGINT NOT NULL,
    local_id BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, source, kind, source_id)
);
-- Where each stage of an import stands (the source's cursor after the last page fully stored).
CREATE TABLE import_checkpoints (
    tenant_id BIGINT NOT NULL,
    source TEXT NOT NULL,
    stage TEXT NOT NULL,
    position TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, source, stage)
);
