-- Suoja schema v39 (SQLite): ticket metric events, Zendesk's record of when each of a ticket's
-- clocks started, paused, was fulfilled or breached, and which SLA applied.
-- Keep in step with ../postgres/0039_ticket_metric_events.sql; a test compares them.
--
-- Recorded while the tenant has an SLA policy in use, as the ticket changes: what its history
-- implies, and a breach when a running clock will or did miss its target (`deleted` once a
-- breach to come no longer will). Ids, metric names, times and targets only: no one's personal
-- data. `recorded_at` is when a row was written (an event from a ticket's earlier history is
-- recorded when the ticket next changes).
CREATE TABLE ticket_metric_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    ticket_id INTEGER NOT NULL,
    metric TEXT NOT NULL,
    instance_id INTEGER NOT NULL,
    type TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    policy_id INTEGER,
    target INTEGER,
    business_hours INTEGER,
    calendar_minutes INTEGER,
    business_minutes INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX ticket_metric_events_ticket ON ticket_metric_events (tenant_id, ticket_id, id);
CREATE INDEX ticket_metric_events_time ON ticket_metric_events (tenant_id, occurred_at, id);
