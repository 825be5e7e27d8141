-- The breach register (GDPR Art. 33 and 34). A breach's free text (what happened, consequences,
-- measures, reasoning, the contact point, what was exposed) is one sealed JSON under a key of the
-- breach's own; the plain columns hold times, states and category codes only.
CREATE TABLE breaches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    state TEXT NOT NULL,
    aware_at INTEGER NOT NULL,
    occurred_at INTEGER,
    recorded_by INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    details_enc BLOB NOT NULL,
    data_categories TEXT NOT NULL,
    people_categories TEXT NOT NULL,
    notify_authority INTEGER,
    notify_people INTEGER,
    authority_notified_at INTEGER,
    people_notified_at INTEGER,
    closed_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX breaches_tenant ON breaches (tenant_id, id);

-- The people a breach affected, as the scoping found them: ids, category codes and counts.
CREATE TABLE breach_people (
    tenant_id INTEGER NOT NULL,
    breach_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    categories TEXT NOT NULL,
    records INTEGER NOT NULL,
    notified_at INTEGER,
    PRIMARY KEY (tenant_id, breach_id, user_id)
);
CREATE INDEX breach_people_user ON breach_people (tenant_id, user_id);

-- Which token a read came with, and lookups of one token's or one reader's reads over time.
ALTER TABLE consultations ADD COLUMN token_id INTEGER;
CREATE INDEX consultations_token ON consultations (tenant_id, token_id, at);
CREATE INDEX consultations_actor ON consultations (tenant_id, actor_id, at);

-- Who the controller is and how to reach it and its data protection officer, as the records of
-- processing and the breach notifications name them (the organisation's contact points).
CREATE TABLE controller_details (
    tenant_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    contact TEXT NOT NULL,
    dpo_contact TEXT NOT NULL,
    subprocessor_notice_days INTEGER NOT NULL,
    updated_by INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The sub-processors the tenant uses (GDPR Art. 28(2)): organisations, not people; an addition is
-- announced to the subscribers of the public list a notice period before it starts.
CREATE TABLE subprocessors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    service TEXT NOT NULL,
    location TEXT NOT NULL,
    safeguard TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER,
    created_by INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX subprocessors_tenant ON subprocessors (tenant_id, starts_at);

-- People who asked to hear of new sub-processors in advance.
CREATE TABLE subprocessor_subscribers (
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

-- The security settings a tenant's admins choose: which addresses staff and API access may come
-- from (the organisation's networks), and whether end users are held to them too.
CREATE TABLE security_settings (
    tenant_id INTEGER PRIMARY KEY,
    ip_restriction INTEGER NOT NULL,
    allowed_ranges TEXT NOT NULL,
    restrict_end_users INTEGER NOT NULL,
    password_min_length INTEGER NOT NULL,
    password_history INTEGER NOT NULL,
    updated_by INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Earlier password hashes of a person, for the rule against reusing the last few.
CREATE TABLE password_history (
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX password_history_user ON password_history (tenant_id, user_id, created_at);
