-- The search for a person in free text outside tickets reads each table newest first within
-- one tenant: an index in that order, so a tenant's rows are read without walking anyone else's.
CREATE INDEX hc_articles_tenant_id ON hc_articles (tenant_id, id);
CREATE INDEX hc_article_comments_tenant_id ON hc_article_comments (tenant_id, id);
CREATE INDEX hc_posts_tenant_id ON hc_posts (tenant_id, id);
CREATE INDEX hc_post_comments_tenant_id ON hc_post_comments (tenant_id, id);
CREATE INDEX users_tenant_id ON users (tenant_id, id);
