-- Suoja schema v28 (SQLite): business-hours schedules with holidays, and each ticket's next SLA breach.
-- Keep in step with ../postgres/0028_sla.sql; a test compares them.
--
-- A schedule is what an admin types: a name, a time zone and the week's opening intervals
-- (JSON of [start, end] minutes from Sunday 00:00); its holidays are named dates. None of it
-- is anyone's personal data. SLA policies are business rules (kind 'sla'). A ticket's
-- `sla_breach_at` is the moment its earliest running SLA target is missed (NULL: no target
-- running), kept with every change so views can find overdue tickets by index.
CREATE TABLE schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    intervals TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX schedules_tenant ON schedules (tenant_id, id);
CREATE TABLE schedule_holidays (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    schedule_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX schedule_holidays_schedule ON schedule_holidays (tenant_id, schedule_id, start_date);
ALTER TABLE tickets ADD COLUMN sla_breach_at INTEGER;
CREATE INDEX tickets_sla_breach ON tickets (tenant_id, sla_breach_at) WHERE sla_breach_at IS NOT NULL;
