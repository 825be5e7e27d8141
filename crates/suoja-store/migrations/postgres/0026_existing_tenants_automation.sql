-- Suoja schema v26 (PostgreSQL): the default automation for tenants that existed before automations.
-- Keep in step with ../sqlite/0026_existing_tenants_automation.sql; a test compares them.
--
-- New tenants get Zendesk's default automation, "close a ticket four days after it was solved",
-- in use from the start. A tenant upgraded into automations gets it out of use: switched on
-- unasked, its first pass would close every ticket solved more than four days ago, and a
-- closed ticket cannot be reopened. Its admins switch it on when they want it.
INSERT INTO business_rules (tenant_id, kind, rule_key, owner_id, title, description, active, position, definition, created_at, updated_at)
SELECT id, 'automation', 'close_solved', NULL, 'Close ticket 4 days after status is set to solved', '', 0, 0,
       '{"all":[{"field":"status","operator":"is","value":"solved"},{"field":"SOLVED","operator":"greater_than","value":"96"}],"any":[],"actions":[{"field":"status","value":"closed"}]}',
       CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT), CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT)
FROM tenants
WHERE NOT EXISTS (SELECT 1 FROM business_rules r WHERE r.tenant_id = tenants.id AND r.kind = 'automation' AND r.rule_key = 'close_solved');
