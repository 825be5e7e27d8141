-- Suoja schema v15 (SQLite): the help center.
-- Keep in step with ../postgres/0015_help_center.sql; a test compares them.
--
-- Categories, sections and articles are the tenant's published content, written by staff and
-- kept in plain form (an article's author is an id: erasing them leaves the text). What end
-- users write there is theirs: an article comment is sealed under its author's key, and votes
-- and subscriptions are rows linked to the person. Vote counts are never stored; they are
-- counted from the votes, so erasing a person's votes corrects them.
CREATE TABLE hc_categories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    locale TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX hc_categories_tenant ON hc_categories (tenant_id, position, id);
CREATE TABLE hc_sections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    category_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    locale TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX hc_sections_category ON hc_sections (tenant_id, category_id, position, id);
-- user_segment: NULL for everyone, 'signed_in' or 'staff'.
CREATE TABLE hc_articles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    section_id INTEGER NOT NULL,
    author_id INTEGER NOT NULL,
    title TEXT NOT NULL,
    locale TEXT NOT NULL,
    draft INTEGER NOT NULL,
    promoted INTEGER NOT NULL,
    position INTEGER NOT NULL,
    comments_disabled INTEGER NOT NULL,
    label_names TEXT NOT NULL,
    user_segment TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    edited_at INTEGER NOT NULL,
    archived_at INTEGER,
    body TEXT NOT NULL
);
CREATE INDEX hc_articles_section ON hc_articles (tenant_id, section_id, id);
CREATE INDEX hc_articles_author ON hc_articles (tenant_id, author_id);
-- Lists in their own order: promoted first, then by position.
CREATE INDEX hc_articles_order ON hc_articles (tenant_id, promoted, position, id);
-- body_enc is NULL once the comment is a tombstone (its author was erased).
CREATE TABLE hc_article_comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    article_id INTEGER NOT NULL,
    author_id INTEGER NOT NULL,
    key_id INTEGER,
    locale TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    non_author_editor_id INTEGER,
    non_author_updated_at INTEGER,
    body_enc BLOB
);
CREATE INDEX hc_article_comments_article ON hc_article_comments (tenant_id, article_id, id);
CREATE INDEX hc_article_comments_author ON hc_article_comments (tenant_id, author_id);
-- item_type: 'Article' or 'Comment'; value +1 or -1. One vote per person and item.
CREATE TABLE hc_votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    item_type TEXT NOT NULL,
    item_id INTEGER NOT NULL,
    value INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX hc_votes_one ON hc_votes (tenant_id, item_type, item_id, user_id);
CREATE INDEX hc_votes_user ON hc_votes (tenant_id, user_id);
-- content_type: 'Article' or 'Section'. One subscription per person and content.
CREATE TABLE hc_subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    content_id INTEGER NOT NULL,
    source_locale TEXT NOT NULL,
    include_comments INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX hc_subscriptions_one ON hc_subscriptions (tenant_id, content_type, content_id, user_id);
CREATE INDEX hc_subscriptions_user ON hc_subscriptions (tenant_id, user_id);
