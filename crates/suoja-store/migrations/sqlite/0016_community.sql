-- Suoja schema v16 (SQLite): the community.
-- Keep in step with ../postgres/0016_community.sql; a test compares them.
--
-- Topics are the tenant's (staff create them, in plain form). Posts and their comments are what
-- people write: sealed under the author's key, emptied to tombstones (or deleted, as the tenant
-- chose) when the author is erased. Votes and subscriptions on posts, comments and topics are
-- kept in the help center's tables (hc_votes, hc_subscriptions) with their own item types.
CREATE TABLE hc_topics (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    position INTEGER NOT NULL,
    user_segment TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX hc_topics_tenant ON hc_topics (tenant_id, position, id);
-- status: none, planned, not_planned, completed or answered. hidden: moderated away (staff
-- still see it). title_enc and details_enc are NULL once the post is a tombstone.
CREATE TABLE hc_posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    topic_id INTEGER NOT NULL,
    author_id INTEGER NOT NULL,
    key_id INTEGER,
    status TEXT NOT NULL,
    featured INTEGER NOT NULL,
    pinned INTEGER NOT NULL,
    closed INTEGER NOT NULL,
    hidden INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    non_author_editor_id INTEGER,
    non_author_updated_at INTEGER,
    title_enc BLOB,
    details_enc BLOB
);
-- A topic's page walks its posts pinned first, then by last change, newest first; the
-- community's front page walks every post by last change.
CREATE INDEX hc_posts_topic ON hc_posts (tenant_id, topic_id, pinned, updated_at, id);
CREATE INDEX hc_posts_updated ON hc_posts (tenant_id, updated_at, id);
CREATE INDEX hc_posts_author ON hc_posts (tenant_id, author_id);
CREATE TABLE hc_post_comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    post_id INTEGER NOT NULL,
    author_id INTEGER NOT NULL,
    key_id INTEGER,
    official INTEGER NOT NULL,
    hidden INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    non_author_editor_id INTEGER,
    non_author_updated_at INTEGER,
    body_enc BLOB
);
CREATE INDEX hc_post_comments_post ON hc_post_comments (tenant_id, post_id, id);
CREATE INDEX hc_post_comments_author ON hc_post_comments (tenant_id, author_id);
