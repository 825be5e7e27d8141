//! Bringing a tenant's records over from another helpdesk (`suoja import`). Every record lands
//! through the same paths as one made here — sealed under its person's key, indexed, audited —
//! with `via` "import", and is remembered by its id at the source in the same transaction as
//! the record itself, so running an import again, or resuming one that was interrupted, finds
//! what is already here and changes nothing.
//!
//! Records go in batches, one transaction each; when a batch fails on a record the source got
//! wrong (a malformed address, a value its field does not take), the batch is written again one
//! record at a time and the record is reported as refused instead of failing the others.

use std::collections::HashMap;

use suoja_core::{ErrorKind, GroupId, OrganizationId, Personal, Scope, TicketId, Timestamp, UserId};
use suoja_store::Conn;

use crate::fields::{FieldInput, Owner};
use crate::help_center::{ArticleCommentInput, ArticleInput, GroupingInput, PostCommentInput, PostInput, TopicInput};
use crate::model::{CommentInput, TicketInput, UserInput};
use crate::orgs::OrgInput;
use crate::tickets::batch::Batch;
use crate::{Helpdesk, HelpdeskError, Result};
use suoja_store::community::{PostFilter, PostSort};
use suoja_store::help_center::ArticleFilter;

/// The kinds of record an import remembers.
pub mod kind {
    /// People.
    pub const USER: &str = "user";
    /// Organisations.
    pub const ORGANIZATION: &str = "organization";
    /// Groups.
    pub const GROUP: &str = "group";
    /// Ticket fields.
    pub const TICKET_FIELD: &str = "ticket_field";
    /// Tickets.
    pub const TICKET: &str = "ticket";
    /// Help-center categories.
    pub const CATEGORY: &str = "hc_category";
    /// Help-center sections.
    pub const SECTION: &str = "hc_section";
    /// Help-center articles.
    pub const ARTICLE: &str = "hc_article";
    /// Comments on articles.
    pub const ARTICLE_COMMENT: &str = "hc_article_comment";
    /// Community topics.
    pub const TOPIC: &str = "community_topic";
    /// Community posts.
    pub const POST: &str = "community_post";
    /// Comments on posts.
    pub const POST_COMMENT: &str = "community_post_comment";
}

/// What became of a record brought over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landed {
    /// Made here now; its id.
    New(i64),
    /// Already here (brought over before, or a person, organisation, group or field found by
    /// its address, name or title); its id.
    Found(i64),
}

impl Landed {
    /// Its id here.
    pub fn id(self) -> i64 {
        match self {
            Landed::New(id) | Landed::Found(id) => id,
        }
    }
}

/// A record that could not be brought over, and why (the reason names fields, never values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Its id at the source.
    pub source_id: i64,
    /// Why.
    pub reason: String,
}

/// What a batch did: each record's outcome by its source id, and the records refused.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Records brought over or found, by source id.
    pub landed: Vec<(i64, Landed)>,
    /// Records refused.
    pub refused: Vec<Refused>,
    /// Assignees and followers left off tickets because they are not staff here.
    pub left_off: u64,
}

impl Outcome {
    /// How many were made now.
    pub fn new_count(&self) -> usize {
        self.landed.iter().filter(|(_, l)| matches!(l, Landed::New(_))).count()
    }
}

/// A person as the source has them.
#[derive(Debug, Clone)]
pub struct ImportedUser {
    /// Their id at the source.
    pub source_id: i64,
    /// Their record, organisation already mapped to its id here.
    pub input: UserInput,
    /// When the source made them.
    pub created_at: Option<Timestamp>,
}

/// A comment after a ticket's first, as the source has it.
#[derive(Debug, Clone)]
pub struct ImportedComment {
    /// The comment (author mapped to their id here; `via` is set to the import).
    pub input: CommentInput,
    /// When it was written.
    pub created_at: Timestamp,
}

/// A ticket with its conversation, as the source has it.
#[derive(Debug, Clone)]
pub struct ImportedTicket {
    /// Its id at the source.
    pub source_id: i64,
    /// Its fields and first comment, people, group, organisation and fields mapped to their ids
    /// here.
    pub input: TicketInput,
    /// The comments after the first, oldest first.
    pub later: Vec<ImportedComment>,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Is this failure the record's own (reported, the import goes on) rather than the
/// installation's (the import stops)?
fn refusal(e: &HelpdeskError) -> bool {
    matches!(e.kind(), ErrorKind::Invalid | ErrorKind::NotFound | ErrorKind::Conflict | ErrorKind::Forbidden)
}

impl Helpdesk {
    /// Every record of `kind` already brought over from `source` (source id → id here).
    pub async fn imported(&self, scope: &Scope, source: &str, kind: &str) -> Result<HashMap<i64, i64>> {
        require_importer(scope)?;
        let mut c = self.db.read().await?;
        Ok(suoja_store::imports::all_mapped(&mut c, scope.tenant, source, kind).await?)
    }

    /// The people brought over from `source` who are no longer here (erased or deleted; their
    /// source ids): an import does not bring them back.
    pub async fn imported_people_gone(&self, scope: &Scope, source: &str) -> Result<std::collections::HashSet<i64>> {
        require_importer(scope)?;
        let mut c = self.db.read().await?;
        Ok(suoja_store::imports::people_gone(&mut c, scope.tenant, source).await?.into_iter().collect())
    }

    /// Which of `ids` (source ids of records of `kind`) are already brought over from `source`
    /// (source id → id here).
    pub async fn imported_among(&self, scope: &Scope, source: &str, kind: &str, ids: &[i64]) -> Result<HashMap<i64, i64>> {
        require_importer(scope)?;
        let mut c = self.db.read().await?;
        Ok(suoja_store::imports::mapped(&mut c, scope.tenant, source, kind, ids).await?)
    }

    /// Where `stage` of the import from `source` stands (`None`: from the start).
    pub async fn import_checkpoint(&self, scope: &Scope, source: &str, stage: &str) -> Result<Option<String>> {
        require_importer(scope)?;
        let mut c = self.db.read().await?;
        Ok(suoja_store::imports::checkpoint(&mut c, scope.tenant, source, stage).await?)
    }

    /// Records where `stage` of the import from `source` stands (after its records are in).
    pub async fn set_import_checkpoint(&self, scope: &Scope, source: &str, stage: &str, position: &str) -> Result<()> {
        require_importer(scope)?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        suoja_store::imports::set_checkpoint(&mut tx, scope.tenant, source, stage, position, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Brings people over: each one already brought over, or with an address someone here
    /// has, is found rather than made again (an existing person is left as they are).
    pub async fn import_people(&self, scope: &Scope, source: &str, people: Vec<ImportedUser>) -> Result<Outcome> {
        require_importer(scope)?;
        let mut tx = self.db.begin().await?;
        let mut out = Outcome::default();
        match self.import_people_in(&mut tx, scope, source, &people, &mut out.landed).await {
            Ok(()) => {
                tx.commit().await?;
                return Ok(out);
            }
            Err(e) if refusal(&e) => drop(tx),
            Err(e) => return Err(e),
        }
        out.landed.clear();
        for person in people {
            let mut tx = self.db.begin().await?;
            let mut landed = Vec::with_capacity(1);
            match self.import_people_in(&mut tx, scope, source, std::slice::from_ref(&person), &mut landed).await {
                Ok(()) => {
                    tx.commit().await?;
                    out.landed.extend(landed);
                }
                Err(e) if refusal(&e) => out.refused.push(Refused {
                    source_id: person.source_id,
                    reason: e.to_string(),
                }),
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn import_people_in(&self, c: &mut Conn, scope: &Scope, source: &str, people: &[ImportedUser], landed: &mut Vec<(i64, Landed)>) -> Result<()> {
        let ids: Vec<i64> = people.iter().map(|p| p.source_id).collect();
        let known = suoja_store::imports::mapped(c, scope.tenant, source, kind::USER, &ids).await?;
        let now = self.now();
        let mut known = known;
        for person in people {
            // Known before, or earlier in this batch (a source listing someone twice).
            if let Some(id) = known.get(&person.source_id) {
                landed.push((person.source_id, Landed::Found(*id)));
                continue;
            }
            let existing = match &person.input.email {
                Some(Some(email)) => self.user_by_email(c, scope.tenant, email).await?.map(|u| u.id),
                _ => None,
            };
            let id = match existing {
                Some(id) => Landed::Found(id.0),
                None => {
                    let user = self.insert_user(c, scope.tenant, &person.input, person.created_at.unwrap_or(now)).await?;
                    Landed::New(user.id.0)
                }
            };
            if !suoja_store::imports::map(c, scope.tenant, source, kind::USER, person.source_id, id.id()).await? {
                return Err(concurrent());
            }
            known.insert(person.source_id, id.id());
            landed.push((person.source_id, id));
        }
        Ok(())
    }

    /// Brings an organisation over; one with the same name here is found rather than made.
    pub async fn import_org(&self, scope: &Scope, source: &str, source_id: i64, input: OrgInput) -> Result<Landed> {
        require_importer(scope)?;
        if let Some(id) = self.known(scope, source, kind::ORGANIZATION, source_id).await? {
            return Ok(Landed::Found(id));
        }
        let name = input.name.clone().unwrap_or_default();
        let found = self.find_orgs(scope, Some(name.trim()), None).await?;
        let landed = match found.iter().find(|o| o.name.eq_ignore_ascii_case(name.trim())) {
            Some(o) => Landed::Found(o.id.0),
            None => Landed::New(self.create_org(scope, input).await?.id.0),
        };
        self.remember(scope, source, kind::ORGANIZATION, source_id, landed.id()).await?;
        Ok(landed)
    }

    /// Brings a group over; one with the same name here is found rather than made.
    pub async fn import_group(&self, scope: &Scope, source: &str, source_id: i64, name: &str, description: Option<&str>) -> Result<Landed> {
        require_importer(scope)?;
        if let Some(id) = self.known(scope, source, kind::GROUP, source_id).await? {
            return Ok(Landed::Found(id));
        }
        let (groups, _) = self.list_groups(scope, None, 100_000, 0).await?;
        let landed = match groups.iter().find(|g| g.name.eq_ignore_ascii_case(name.trim())) {
            Some(g) => Landed::Found(g.id.0),
            None => Landed::New(self.create_group(scope, name, description).await?.id.0),
        };
        self.remember(scope, source, kind::GROUP, source_id, landed.id()).await?;
        Ok(landed)
    }

    /// Brings a custom ticket field over; an active one here with the same title and type is
    /// found rather than made.
    pub async fn import_ticket_field(&self, scope: &Scope, source: &str, source_id: i64, input: FieldInput) -> Result<Landed> {
        require_importer(scope)?;
        if let Some(id) = self.known(scope, source, kind::TICKET_FIELD, source_id).await? {
            return Ok(Landed::Found(id));
        }
        let title = input.title.clone().unwrap_or_default();
        let wanted = input.field_type.clone().unwrap_or_default();
        let same_type = |t: &str| t == wanted || (is_dropdown(t) && is_dropdown(&wanted));
        let fields = self.list_fields(scope, Owner::Ticket).await?;
        let landed = match fields
            .iter()
            .find(|f| !f.def.system && f.def.active && f.def.title.trim() == title.trim() && same_type(&f.def.field_type))
        {
            Some(f) => Landed::Found(f.def.id),
            None => Landed::New(self.create_field(scope, Owner::Ticket, input).await?.def.id),
        };
        self.remember(scope, source, kind::TICKET_FIELD, source_id, landed.id()).await?;
        Ok(landed)
    }

    /// Brings a help-center category over; one here with the same name and locale is found
    /// rather than made.
    pub async fn import_category(&self, scope: &Scope, source: &str, source_id: i64, input: GroupingInput) -> Result<Landed> {
        require_importer(scope)?;
        if let Some(id) = self.known(scope, source, kind::CATEGORY, source_id).await? {
            return Ok(Landed::Found(id));
        }
        let (here, _) = self.list_categories(scope, None, whole()).await?;
        let same = |c: &&suoja_store::help_center::CategoryRow| {
            Some(c.name.trim()) == input.name.as_deref().map(str::trim) && input.locale.as_deref().is_none_or(|l| l.eq_ignore_ascii_case(&c.locale))
        };
        let landed = match here.iter().find(same) {
            Some(c) => Landed::Found(c.id),
            None => Landed::New(self.create_category(scope, &input, None).await?.id),
        };
        self.remember(scope, source, kind::CATEGORY, source_id, landed.id()).await?;
        Ok(landed)
    }

    /// Brings a section over into `category` (here); one there with the same name is found.
    pub async fn import_section(&self, scope: &Scope, source: &str, source_id: i64, category: i64, input: GroupingInput) -> Result<Landed> {
        require_importer(scope)?;
        if let Some(id) = self.known(scope, source, kind::SECTION, source_id).await? {
            return Ok(Landed::Found(id));
        }
        let (here, _) = self.list_sections(scope, Some(category), None, whole()).await?;
        let landed = match here.iter().find(|s| Some(s.name.trim()) == input.name.as_deref().map(str::trim)) {
            Some(s) => Landed::Found(s.id),
            None => Landed::New(self.create_section(scope, category, &input, None).await?.id),
        };
        self.remember(scope, source, kind::SECTION, source_id, landed.id()).await?;
        Ok(landed)
    }

    /// Brings an article over into `section` (here), with its author (staff here) and time;
    /// one there with the same title and author is found. Nobody is told.
    pub async fn import_article(&self, scope: &Scope, source: &str, source_id: i64, section: i64, input: ArticleInput) -> Result<Landed> {
        require_importer(scope)?;
        if let Some(id) = self.known(scope, source, kind::ARTICLE, source_id).await? {
            return Ok(Landed::Found(id));
        }
        // Found only if it is the same article as far as anyone reading it can tell (title,
        // author, locale, draft, who may read it) and no other source article was brought to
        // it: a stopped run's article, never one that would let more people read what comes.
        let (here, _) = self.list_articles(scope, ArticleFilter::Section(section), None, whole()).await?;
        let taken = self.taken(scope, source, kind::ARTICLE).await?;
        let wanted_segment = input.user_segment_id.flatten();
        let found = here.iter().find(|a| {
            Some(a.row.title.trim()) == input.title.as_deref().map(str::trim)
                && Some(a.row.author_id.0) == input.author_id
                && input.locale.as_deref().is_none_or(|l| l.eq_ignore_ascii_case(&a.row.locale))
                && Some(a.row.draft) == input.draft.or(Some(false))
                && crate::help_center::segment_id(a.row.user_segment.as_deref()) == wanted_segment
                && !taken.contains(&a.row.id)
        });
        let landed = match found {
            Some(a) => Landed::Found(a.row.id),
            None => Landed::New(self.create_article(scope, section, &input, None, false).await?.row.id),
        };
        self.remember(scope, source, kind::ARTICLE, source_id, landed.id()).await?;
        Ok(landed)
    }

    /// Brings a comment on `article` (here) over, with its author and time; one by the same
    /// author at the same time is found. Nobody is told.
    pub async fn import_article_comment(&self, scope: &Scope, source: &str, source_id: i64, article: i64, input: ArticleCommentInput) -> Result<Landed> {
        require_importer(scope)?;
        if let Some(id) = self.known(scope, source, kind::ARTICLE_COMMENT, source_id).await? {
            return Ok(Landed::Found(id));
        }
        let (here, _) = self.list_article_comments(scope, article, whole()).await?;
        let found = here
            .iter()
            .find(|c| Some(c.row.author_id.0) == input.author_id && Some(c.row.created_at) == input.created_at);
        let landed = match found {
            Some(c) => Landed::Found(c.row.id),
            None => Landed::New(self.create_article_comment(scope, article, &input, false).await?.row.id),
        };
        self.remember(scope, source, kind::ARTICLE_COMMENT, source_id, landed.id()).await?;
        Ok(landed)
    }

    /// Brings a community topic over; one here with the same name is found.
    pub async fn import_topic(&self, scope: &Scope, source: &str, source_id: i64, input: TopicInput) -> Result<Landed> {
        require_importer(scope)?;
        if let Some(id) = self.known(scope, source, kind::TOPIC, source_id).await? {
            return Ok(Landed::Found(id));
        }
        // Found only with the same name and the same readers (never a topic more people read).
        let (here, _) = self.list_topics(scope, whole()).await?;
        let wanted_segment = input.user_segment_id.flatten();
        let same = |t: &&suoja_store::community::TopicRow| {
            Some(t.name.trim()) == input.name.as_deref().map(str::trim) && crate::help_center::segment_id(t.user_segment.as_deref()) == wanted_segment
        };
        let landed = match here.iter().find(same) {
            Some(t) => Landed::Found(t.id),
            None => Landed::New(self.create_topic(scope, &input).await?.id),
        };
        self.remember(scope, source, kind::TOPIC, source_id, landed.id()).await?;
        Ok(landed)
    }

    /// Brings a post over (its topic, author and time set in `input`); one in that topic by
    /// the same author at the same time is found. Nobody is told.
    pub async fn import_post(&self, scope: &Scope, source: &str, source_id: i64, input: PostInput) -> Result<Landed> {
        require_importer(scope)?;
        if let Some(id) = self.known(scope, source, kind::POST, source_id).await? {
            return Ok(Landed::Found(id));
        }
        let topic = input.topic_id.unwrap_or_default();
        let (here, _) = self.list_posts(scope, PostFilter::Topic(topic), None, PostSort::Created, whole()).await?;
        let taken = self.taken(scope, source, kind::POST).await?;
        let found = here
            .iter()
            .find(|p| Some(p.row.author_id.0) == input.author_id && Some(p.row.created_at) == input.created_at && !taken.contains(&p.row.id));
        let landed = match found {
            Some(p) => Landed::Found(p.row.id),
            None => Landed::New(self.create_post(scope, &input, false).await?.row.id),
        };
        self.remember(scope, source, kind::POST, source_id, landed.id()).await?;
        Ok(landed)
    }

    /// Brings a comment on `post` (here) over, with its author and time; one by the same
    /// author at the same time is found. Nobody is told.
    pub async fn import_post_comment(&self, scope: &Scope, source: &str, source_id: i64, post: i64, input: PostCommentInput) -> Result<Landed> {
        require_importer(scope)?;
        if let Some(id) = self.known(scope, source, kind::POST_COMMENT, source_id).await? {
            return Ok(Landed::Found(id));
        }
        let (here, _) = self.list_post_comments(scope, post, whole()).await?;
        let found = here
            .iter()
            .find(|c| Some(c.row.author_id.0) == input.author_id && Some(c.row.created_at) == input.created_at);
        let landed = match found {
            Some(c) => Landed::Found(c.row.id),
            None => Landed::New(self.create_post_comment(scope, post, &input, false).await?.row.id),
        };
        self.remember(scope, source, kind::POST_COMMENT, source_id, landed.id()).await?;
        Ok(landed)
    }

    /// The local ids records of `kind` from `source` were brought to.
    async fn taken(&self, scope: &Scope, source: &str, kind: &str) -> Result<std::collections::HashSet<i64>> {
        let mut c = self.db.read().await?;
        Ok(suoja_store::imports::all_mapped(&mut c, scope.tenant, source, kind)
            .await?
            .into_values()
            .collect())
    }

    async fn known(&self, scope: &Scope, source: &str, kind: &str, source_id: i64) -> Result<Option<i64>> {
        let mut c = self.db.read().await?;
        Ok(suoja_store::imports::mapped(&mut c, scope.tenant, source, kind, &[source_id])
            .await?
            .get(&source_id)
            .copied())
    }

    async fn remember(&self, scope: &Scope, source: &str, kind: &str, source_id: i64, local_id: i64) -> Result<()> {
        let mut tx = self.db.begin().await?;
        suoja_store::imports::map(&mut tx, scope.tenant, source, kind, source_id, local_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Brings tickets over with their conversations, in one transaction (or, when one of them
    /// is refused, one transaction each). Each keeps its times, its writers and its public and
    /// internal comments; none runs triggers or tells anyone. Their index entries are written
    /// together.
    pub async fn import_conversations(&self, scope: &Scope, source: &str, tickets: Vec<ImportedTicket>) -> Result<Outcome> {
        require_importer(scope)?;
        let mut out = Outcome::default();
        match self.import_conversations_tx(scope, Some(source), &tickets, &mut out.landed).await {
            Ok(left_off) => {
                out.left_off = left_off;
                return Ok(out);
            }
            Err(e) if refusal(&e) => {}
            Err(e) => return Err(e),
        }
        out.landed.clear();
        for ticket in tickets {
            let mut landed = Vec::with_capacity(1);
            match self
                .import_conversations_tx(scope, Some(source), std::slice::from_ref(&ticket), &mut landed)
                .await
            {
                Ok(left_off) => {
                    out.landed.extend(landed);
                    out.left_off += left_off;
                }
                Err(e) if refusal(&e) => out.refused.push(Refused {
                    source_id: ticket.source_id,
                    reason: e.to_string(),
                }),
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Brings a satisfaction rating over onto a ticket brought over before (`ticket`: the
    /// ticket's id at the source): given by the ticket's requester, its comment sealed under
    /// their key, its times kept. A ticket has one rating, so bringing it again changes nothing.
    pub async fn import_rating(
        &self,
        scope: &Scope,
        source: &str,
        ticket: i64,
        score: crate::satisfaction::Score,
        comment: Option<Personal<String>>,
        at: (Timestamp, Timestamp),
    ) -> Result<Landed> {
        require_importer(scope)?;
        let t = scope.tenant;
        let mut tx = self.db.begin().await?;
        let local = suoja_store::imports::mapped(&mut tx, t, source, kind::TICKET, &[ticket])
            .await?
            .get(&ticket)
            .copied()
            .ok_or(HelpdeskError::NotFound("Ticket"))?;
        let row = suoja_store::tickets::by_id(&mut tx, t, TicketId(local))
            .await?
            .ok_or(HelpdeskError::NotFound("Ticket"))?;
        if let Some(existing) = suoja_store::satisfaction::for_ticket(&mut tx, t, row.id).await? {
            return Ok(Landed::Found(existing.id));
        }
        let person = suoja_store::users::by_id(&mut tx, t, row.requester_id)
            .await?
            .ok_or(HelpdeskError::NotFound("User"))?;
        let comment = comment.filter(|c| !c.expose().trim().is_empty());
        let stored = suoja_store::satisfaction::RatingRow {
            id: 0,
            ticket_id: row.id,
            requester_id: row.requester_id,
            key_id: Some(person.key_id),
            score: score.as_str().into(),
            created_at: at.0,
            updated_at: at.1.max(at.0),
            comment_enc: crate::crypt::seal_opt(&self.vault, &mut tx, t, person.key_id, comment.as_ref()).await?,
        };
        let saved = suoja_store::satisfaction::upsert(&mut tx, t, &stored).await?;
        let event = crate::model::AuditEvent::new("SatisfactionRating")
            .with("score", serde_json::json!(saved.score))
            .with("assignee_id", serde_json::json!(row.assignee_id.map(|a| a.0)));
        self.record_audit(&mut tx, t, &row, Some(row.requester_id), "import", &[event], stored.updated_at)
            .await?;
        tx.commit().await?;
        Ok(Landed::New(saved.id))
    }

    /// Imports tickets in one transaction (all or nothing), each opened now with one comment:
    /// the bulk path for seeding benchmarks and tests. Returns the new ids in input order.
    pub async fn import_tickets(&self, scope: &Scope, inputs: Vec<TicketInput>) -> Result<Vec<TicketId>> {
        crate::require_staff(scope)?;
        let now = self.now();
        let tickets: Vec<ImportedTicket> = inputs
            .into_iter()
            .map(|input| ImportedTicket {
                source_id: 0,
                input,
                later: Vec::new(),
                created_at: now,
                updated_at: now,
            })
            .collect();
        let mut landed = Vec::with_capacity(tickets.len());
        self.import_conversations_tx(scope, None, &tickets, &mut landed).await?;
        Ok(landed.into_iter().map(|(_, l)| TicketId(l.id())).collect())
    }

    /// Returns how many assignees and followers were left off (see `fit_staff`).
    async fn import_conversations_tx(&self, scope: &Scope, source: Option<&str>, tickets: &[ImportedTicket], landed: &mut Vec<(i64, Landed)>) -> Result<u64> {
        let mut tx = self.db.begin().await?;
        let mut known = match source {
            Some(source) => {
                let ids: Vec<i64> = tickets.iter().map(|t| t.source_id).collect();
                suoja_store::imports::mapped(&mut tx, scope.tenant, source, kind::TICKET, &ids).await?
            }
            None => HashMap::new(),
        };
        // What the batch will write: each ticket brought over for the first time (a source
        // listing a ticket twice in one batch gets it once), with all its comments.
        let mut new = std::collections::HashSet::new();
        let (mut n_tickets, mut n_comments) = (0, 0);
        for t in tickets {
            if source.is_none() || (!known.contains_key(&t.source_id) && new.insert(t.source_id)) {
                n_tickets += 1;
                n_comments += 1 + if source.is_some() { t.later.len() } else { 0 };
            }
        }
        let mut batch = Batch::new(&mut tx, n_tickets, n_comments).await?;
        let mut left_off = 0;
        let mut mapped = Vec::with_capacity(n_tickets);
        for t in tickets {
            if let Some(id) = known.get(&t.source_id) {
                landed.push((t.source_id, Landed::Found(*id)));
                continue;
            }
            let id = self.import_conversation(&mut tx, scope, source.is_some(), t, &mut batch, &mut left_off).await?;
            if source.is_some() {
                known.insert(t.source_id, id.0);
                mapped.push((t.source_id, id.0));
            }
            landed.push((t.source_id, Landed::New(id.0)));
        }
        batch.write(self, &mut tx, scope.tenant).await?;
        if let Some(source) = source
            && suoja_store::imports::map_many(&mut tx, scope.tenant, source, kind::TICKET, &mapped).await? != mapped.len() as u64
        {
            return Err(concurrent());
        }
        tx.commit().await?;
        // The batch is in; fresher statistics only help later queries.
        if let Err(e) = suoja_store::dialect::refresh_statistics(&self.db).await {
            tracing::warn!(error = %e, "refreshing the planner's statistics after an import batch failed");
        }
        // Imported tickets' SLA clocks are measured in the background, as after a policy change.
        if self.has_sla_policies(scope.tenant).await? {
            self.remeasure_later(scope.tenant);
        }
        Ok(left_off)
    }

    /// One ticket and its later comments, gathered into the batch.
    async fn import_conversation(
        &self,
        c: &mut Conn,
        scope: &Scope,
        from_source: bool,
        t: &ImportedTicket,
        batch: &mut Batch,
        left_off: &mut u64,
    ) -> Result<TicketId> {
        let mut input = t.input.clone();
        if from_source && let Some(first) = input.comment.as_mut() {
            first.via = crate::model::Channel::Import;
        }
        if from_source {
            self.fit_staff(c, scope, &mut input, batch, left_off).await?;
        }
        let change = self.create_ticket_with(c, scope, input, t.created_at, Some(&mut *batch)).await?;
        let id = change.ticket.id;
        if !from_source {
            return Ok(id);
        }
        let row = batch
            .ticket_mut(id)
            .map(|r| r.clone())
            .ok_or(HelpdeskError::Internal("imported ticket not in its batch".into()))?;
        for later in &t.later {
            let mut comment = later.input.clone();
            comment.via = crate::model::Channel::Import;
            let writer = self
                .person(c, scope.tenant, comment.author_id.unwrap_or(scope.actor), "author_id", Some(&mut *batch))
                .await?;
            let (comment_id, plain, public, author) = self
                .add_comment_by(c, scope, &row, &comment, later.created_at, &writer, Some(&mut *batch))
                .await?;
            batch.index_comment(id, &plain, public);
            let events = [crate::model::AuditEvent::comment(comment_id)
                .with("public", serde_json::json!(public))
                .with("author_id", serde_json::json!(author.0))];
            let audit = self.audit_row(c, scope.tenant, &row, Some(author), "import", &events, later.created_at).await?;
            batch.add_audit(audit);
        }
        let updated = t.updated_at.max(t.created_at);
        if let Some(r) = batch.ticket_mut(id) {
            r.updated_at = updated;
            if r.status.is_done() {
                r.closed_at = Some(updated);
            }
        }
        Ok(id)
    }
}

impl Helpdesk {
    /// Leaves off an assignee or followers who are not staff here (an agent there found here
    /// by their address as an end user, or made an end user since): the ticket comes over
    /// without them rather than not at all. Counts them in `left_off`.
    async fn fit_staff(&self, c: &mut Conn, scope: &Scope, input: &mut TicketInput, batch: &mut Batch, left_off: &mut u64) -> Result<()> {
        if let Some(Some(a)) = input.assignee_id
            && !self.person(c, scope.tenant, a, "assignee_id", Some(&mut *batch)).await?.role.is_staff()
        {
            input.assignee_id = Some(None);
            *left_off += 1;
        }
        if let Some(followers) = input.follower_ids.take() {
            let mut kept = Vec::with_capacity(followers.len());
            for f in followers {
                if self.person(c, scope.tenant, f, "follower_ids", Some(&mut *batch)).await?.role.is_staff() {
                    kept.push(f);
                } else {
                    *left_off += 1;
                }
            }
            input.follower_ids = (!kept.is_empty()).then_some(kept);
        }
        Ok(())
    }
}

/// Another import of the same source wrote this record first (the transaction is rolled back,
/// so nothing is there twice).
fn concurrent() -> HelpdeskError {
    HelpdeskError::Conflict("brought over by another import of the same source running at the same time".into())
}

/// Imports run as an administrator of the tenant (they make agents, groups and fields).
/// One page holding a whole list of a parent (as many rows as a page may hold): what an import
/// looks through for a record that is already here.
fn whole() -> suoja_store::help_center::Page {
    suoja_store::help_center::Page {
        after: None,
        limit: 1_000,
        offset: 0,
        cursor: true,
        count: false,
    }
}

fn require_importer(scope: &Scope) -> Result<()> {
    if scope.is_admin() {
        Ok(())
    } else {
        Err(HelpdeskError::Forbidden("only admins can import"))
    }
}

fn is_dropdown(t: &str) -> bool {
    t == "tagger" || t == "dropdown"
}

/// Ids the source's records were given here, for mapping the records that point at them.
#[derive(Debug, Default, Clone)]
pub struct IdMap {
    /// People.
    pub users: HashMap<i64, i64>,
    /// Organisations.
    pub orgs: HashMap<i64, i64>,
    /// Groups.
    pub groups: HashMap<i64, i64>,
    /// Ticket fields.
    pub fields: HashMap<i64, i64>,
    /// People brought over before and since erased or deleted here (source ids).
    pub gone: std::collections::HashSet<i64>,
}

impl IdMap {
    /// A person's id here (`None` also for a person erased or deleted here since).
    pub fn user(&self, source: i64) -> Option<UserId> {
        if self.gone.contains(&source) {
            return None;
        }
        self.users.get(&source).copied().map(UserId)
    }

    /// Was this person brought over and since erased or deleted here?
    pub fn is_gone(&self, source: i64) -> bool {
        self.gone.contains(&source)
    }

    /// An organisation's id here.
    pub fn org(&self, source: i64) -> Option<OrganizationId> {
        self.orgs.get(&source).copied().map(OrganizationId)
    }

    /// A group's id here.
    pub fn group(&self, source: i64) -> Option<GroupId> {
        self.groups.get(&source).copied().map(GroupId)
    }

    /// A ticket field's id here.
    pub fn field(&self, source: i64) -> Option<i64> {
        self.fields.get(&source).copied()
    }
}
