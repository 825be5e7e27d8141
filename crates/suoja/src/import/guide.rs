//! The help center and the community, brought over after the tickets: categories, sections,
//! articles and their comments; topics, posts and their comments. Each keeps its author (a
//! person brought over before, or asked for by id) and its time, is sealed and indexed as one
//! written here, and tells no follower. Who may read an article or a topic is never widened:
//! a user segment the source restricts further than "signed-in users" is kept to staff here.
//! A source without a help center or community (a 404) is passed over.

use std::collections::HashMap;

use serde_json::Value;
use suoja_helpdesk::help_center::{ArticleCommentInput, ArticleInput, GroupingInput, PostCommentInput, PostInput, TopicInput};
use suoja_helpdesk::import::kind;

use super::{Import, err, zendesk};

/// Suoja's own user segments (see the help center): signed-in people, and staff.
const SIGNED_IN: i64 = 1;
const STAFF: i64 = 2;

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn int(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

fn flag(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

fn time(v: &Value, key: &str) -> Option<suoja_core::Timestamp> {
    v.get(key).and_then(Value::as_str).and_then(suoja_core::Timestamp::parse)
}

fn grouping(v: &Value) -> GroupingInput {
    GroupingInput {
        name: text(v, "name"),
        description: text(v, "description"),
        locale: text(v, "locale"),
        position: int(v, "position"),
        category_id: None,
    }
}

impl Import {
    /// The help center, then the community.
    pub(super) async fn guide(&mut self) -> anyhow::Result<()> {
        let segments = self.segments().await?;
        self.help_center(&segments).await?;
        self.community(&segments).await
    }

    /// The source's user segments, as the nearest of Suoja's that lets no more people read:
    /// "signed-in users" with no further condition stays that, staff stays staff, and every
    /// narrower segment (by tag, organisation, group or person) becomes staff only.
    async fn segments(&mut self) -> anyhow::Result<HashMap<i64, i64>> {
        let mut out = HashMap::new();
        for s in self.list("/api/v2/help_center/user_segments.json", "user_segments").await? {
            let Some(id) = zendesk::id(&s) else { continue };
            // Any list that limits it (tags, or_tags, group_ids, organization_ids,
            // added_user_ids, or one this import does not know) narrows it.
            let narrowed = s.as_object().is_some_and(|o| o.values().any(|v| v.as_array().is_some_and(|a| !a.is_empty())));
            let here = match s.get("user_type").and_then(Value::as_str) {
                Some("signed_in_users") if !narrowed => SIGNED_IN,
                _ => STAFF,
            };
            out.insert(id, here);
        }
        Ok(out)
    }

    /// A record's user segment here (from `user_segment_id`, or Zendesk's `user_segment_ids`,
    /// of which the narrowest counts): everyone stays everyone; a segment the source did not
    /// list is kept to staff (noted).
    fn segment(&mut self, v: &Value, segments: &HashMap<i64, i64>) -> Option<Option<i64>> {
        let mut ids: Vec<i64> = v
            .get("user_segment_ids")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        ids.extend(v.get("user_segment_id").and_then(Value::as_i64));
        if ids.is_empty() {
            return Some(None);
        }
        let mut here = SIGNED_IN;
        for id in ids {
            let mapped = segments.get(&id).copied().unwrap_or_else(|| {
                self.report.note("articles or topics of a user segment the source did not list, kept to staff");
                STAFF
            });
            if mapped == STAFF {
                here = STAFF;
            }
        }
        Some(Some(here))
    }

    /// The person here who wrote `v` (its `author_id` at the source), asking the source for
    /// people the people stage did not bring.
    async fn author(&mut self, v: &Value) -> anyhow::Result<Result<i64, String>> {
        let Some(sid) = int(v, "author_id") else {
            return Ok(Err("author_id: the source names no author".into()));
        };
        if !self.ids.users.contains_key(&sid) && !self.dry && self.asked.insert(sid) {
            self.people_by_id(&[sid]).await?;
        }
        Ok(match self.ids.users.get(&sid) {
            Some(id) => Ok(*id),
            None if self.ids.gone.contains(&sid) => Err(format!(
                "author_id: the source's person {sid} was erased or deleted here, and is not brought back"
            )),
            None => Err(format!("author_id: the source's person {sid} was not brought over")),
        })
    }

    async fn imported(&self, what: &str) -> anyhow::Result<HashMap<i64, i64>> {
        self.hd.imported(&self.scope, &self.source, what).await.map_err(err)
    }

    async fn help_center(&mut self, segments: &HashMap<i64, i64>) -> anyhow::Result<()> {
        let mut categories = self.imported(kind::CATEGORY).await?;
        for c in self.list("/api/v2/help_center/categories.json", "categories").await? {
            let Some(sid) = zendesk::id(&c) else { continue };
            self.report.read("category");
            if self.dry {
                self.report.dry("category", categories.contains_key(&sid));
                continue;
            }
            let landed = self.hd.import_category(&self.scope, &self.source, sid, grouping(&c)).await;
            self.report.settle("category", sid, landed, &mut categories)?;
        }
        let mut sections = self.imported(kind::SECTION).await?;
        for s in self.list("/api/v2/help_center/sections.json", "sections").await? {
            let Some(sid) = zendesk::id(&s) else { continue };
            self.report.read("section");
            if self.dry {
                self.report.dry("section", sections.contains_key(&sid));
                continue;
            }
            let Some(category) = int(&s, "category_id").and_then(|c| categories.get(&c).copied()) else {
                self.report.refuse("section", sid, "category_id: its category was not brought over".into());
                continue;
            };
            let landed = self.hd.import_section(&self.scope, &self.source, sid, category, grouping(&s)).await;
            self.report.settle("section", sid, landed, &mut sections)?;
        }
        let mut articles = self.imported(kind::ARTICLE).await?;
        let listed = self.list("/api/v2/help_center/articles.json", "articles").await?;
        for a in &listed {
            let Some(sid) = zendesk::id(a) else { continue };
            self.report.read("article");
            if self.dry {
                self.report.dry("article", articles.contains_key(&sid));
                continue;
            }
            let Some(section) = int(a, "section_id").and_then(|s| sections.get(&s).copied()) else {
                self.report.refuse("article", sid, "section_id: its section was not brought over".into());
                continue;
            };
            let author = match self.author(a).await? {
                Ok(id) => id,
                Err(reason) => {
                    self.report.refuse("article", sid, reason);
                    continue;
                }
            };
            let input = ArticleInput {
                title: text(a, "title"),
                body: text(a, "body"),
                locale: text(a, "locale"),
                draft: flag(a, "draft"),
                promoted: flag(a, "promoted"),
                position: int(a, "position"),
                // Closed for comments once its comments are in (see below).
                comments_disabled: Some(false),
                label_names: a
                    .get("label_names")
                    .and_then(Value::as_array)
                    .map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect()),
                user_segment_id: self.segment(a, segments),
                section_id: None,
                author_id: Some(author),
                created_at: time(a, "created_at"),
            };
            let landed = self.hd.import_article(&self.scope, &self.source, sid, section, input).await;
            self.report.settle("article", sid, landed, &mut articles)?;
        }
        if self.dry {
            return Ok(());
        }
        let mut comments = self.imported(kind::ARTICLE_COMMENT).await?;
        for a in &listed {
            let (Some(sid), Some(here)) = (zendesk::id(a), zendesk::id(a).and_then(|s| articles.get(&s).copied())) else {
                continue;
            };
            let closed = flag(a, "comments_disabled") == Some(true);
            for c in self.list(&format!("/api/v2/help_center/articles/{sid}/comments.json"), "comments").await? {
                let Some(cid) = zendesk::id(&c) else { continue };
                self.report.read("article comment");
                let author = match self.author(&c).await? {
                    Ok(id) => id,
                    Err(reason) => {
                        self.report.refuse("article comment", cid, reason);
                        continue;
                    }
                };
                let input = ArticleCommentInput {
                    body: text(&c, "body"),
                    locale: text(&c, "locale"),
                    author_id: Some(author),
                    created_at: time(&c, "created_at"),
                };
                let landed = self.hd.import_article_comment(&self.scope, &self.source, cid, here, input).await;
                self.report.settle("article comment", cid, landed, &mut comments)?;
            }
            if closed {
                let close = ArticleInput {
                    comments_disabled: Some(true),
                    ..ArticleInput::default()
                };
                self.hd.update_article(&self.scope, here, &close).await.map_err(err)?;
            }
        }
        Ok(())
    }

    async fn community(&mut self, segments: &HashMap<i64, i64>) -> anyhow::Result<()> {
        let mut topics = self.imported(kind::TOPIC).await?;
        for t in self.list("/api/v2/community/topics.json", "topics").await? {
            let Some(sid) = zendesk::id(&t) else { continue };
            self.report.read("topic");
            if self.dry {
                self.report.dry("topic", topics.contains_key(&sid));
                continue;
            }
            let input = TopicInput {
                name: text(&t, "name"),
                description: text(&t, "description"),
                position: int(&t, "position"),
                user_segment_id: self.segment(&t, segments),
            };
            let landed = self.hd.import_topic(&self.scope, &self.source, sid, input).await;
            self.report.settle("topic", sid, landed, &mut topics)?;
        }
        let mut posts = self.imported(kind::POST).await?;
        let listed = self.list("/api/v2/community/posts.json", "posts").await?;
        for p in &listed {
            let Some(sid) = zendesk::id(p) else { continue };
            self.report.read("post");
            if self.dry {
                self.report.dry("post", posts.contains_key(&sid));
                continue;
            }
            let Some(topic) = int(p, "topic_id").and_then(|t| topics.get(&t).copied()) else {
                self.report.refuse("post", sid, "topic_id: its topic was not brought over".into());
                continue;
            };
            let author = match self.author(p).await? {
                Ok(id) => id,
                Err(reason) => {
                    self.report.refuse("post", sid, reason);
                    continue;
                }
            };
            let input = PostInput {
                title: text(p, "title"),
                details: text(p, "details"),
                topic_id: Some(topic),
                author_id: Some(author),
                status: text(p, "status"),
                featured: flag(p, "featured"),
                pinned: flag(p, "pinned"),
                closed: flag(p, "closed"),
                hidden: flag(p, "hidden"),
                created_at: time(p, "created_at"),
            };
            let landed = self.hd.import_post(&self.scope, &self.source, sid, input).await;
            self.report.settle("post", sid, landed, &mut posts)?;
        }
        if self.dry {
            return Ok(());
        }
        let mut comments = self.imported(kind::POST_COMMENT).await?;
        for p in &listed {
            let (Some(sid), Some(here)) = (zendesk::id(p), zendesk::id(p).and_then(|s| posts.get(&s).copied())) else {
                continue;
            };
            for c in self.list(&format!("/api/v2/community/posts/{sid}/comments.json"), "comments").await? {
                let Some(cid) = zendesk::id(&c) else { continue };
                self.report.read("post comment");
                let author = match self.author(&c).await? {
                    Ok(id) => id,
                    Err(reason) => {
                        self.report.refuse("post comment", cid, reason);
                        continue;
                    }
                };
                let input = PostCommentInput {
                    body: text(&c, "body"),
                    author_id: Some(author),
                    official: flag(&c, "official"),
                    hidden: flag(&c, "hidden"),
                    created_at: time(&c, "created_at"),
                };
                let landed = self.hd.import_post_comment(&self.scope, &self.source, cid, here, input).await;
                self.report.settle("post comment", cid, landed, &mut comments)?;
            }
        }
        Ok(())
    }
}
