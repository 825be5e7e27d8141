//! Tickets written together (imports and seeding). Their rows are gathered in memory with ids
//! handed out ahead by the store, then written in a few multi-row statements with their tags,
//! audits and index entries: a batch of tickets costs a handful of round trips instead of
//! several per ticket and comment. The people, form and fields a batch names are read once.
//! Nothing a batch gathers is read back from the database before it is written.

use std::collections::HashMap;

use suoja_core::{CommentId, TenantId, TicketId, UserId};
use suoja_search::DocKind;
use suoja_store::Conn;
use suoja_store::bulk::{Sequence, reserve_ids};
use suoja_store::comments::CommentRow;
use suoja_store::ticket_audits::AuditRow;
use suoja_store::tickets::TicketRow;
use suoja_store::users::UserRow;

use crate::fields::Field;
use crate::search::DocText;
use crate::{Helpdesk, HelpdeskError, Result};

/// The rows of a batch of new tickets, written by [`Batch::write`] in the caller's transaction.
/// It holds the tickets' words in the clear until then, so it prints only its counts.
pub(crate) struct Batch {
    ticket_ids: std::vec::IntoIter<i64>,
    comment_ids: std::vec::IntoIter<i64>,
    tickets: Vec<TicketRow>,
    comments: Vec<CommentRow>,
    audits: Vec<AuditRow>,
    tags: Vec<(TicketId, Vec<u8>)>,
    docs: Vec<Doc>,
    /// The people the batch names, looked up once (their rows do not change inside it).
    people: HashMap<UserId, UserRow>,
    /// The tenant's default ticket form, once read.
    default_form: Option<Option<i64>>,
    /// The tenant's ticket fields, once read.
    fields: Option<Vec<Field>>,
}

/// What a ticket is indexed by, gathered as its comments are added (personal text: never
/// printed).
struct Doc {
    id: TicketId,
    /// Subject and public comments.
    public: String,
    /// Internal notes.
    notes: String,
    /// Custom field values and the external id (staff's words, after the notes).
    fields: String,
    tags: Vec<String>,
    external_id: Option<String>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("tickets", &self.tickets.len())
            .field("comments", &self.comments.len())
            .field("audits", &self.audits.len())
            .finish_non_exhaustive()
    }
}

impl Batch {
    /// A batch of `tickets` new tickets holding `comments` comments in all, their ids handed out
    /// now in the caller's transaction.
    pub(crate) async fn new(c: &mut Conn, tickets: usize, comments: usize) -> Result<Self> {
        let ticket_ids = reserve_ids(c, Sequence::Tickets, tickets).await?;
        let comment_ids = reserve_ids(c, Sequence::Comments, comments).await?;
        Ok(Batch {
            ticket_ids: ticket_ids.into_iter(),
            comment_ids: comment_ids.into_iter(),
            tickets: Vec::with_capacity(tickets),
            comments: Vec::with_capacity(comments),
            audits: Vec::with_capacity(comments),
            tags: Vec::new(),
            docs: Vec::with_capacity(tickets),
            people: HashMap::new(),
            default_form: None,
            fields: None,
        })
    }

    /// Takes in a new ticket's row; returns the id it is given.
    pub(crate) fn add_ticket(&mut self, mut row: TicketRow) -> Result<TicketId> {
        let id = self.ticket_ids.next().ok_or_else(|| counted_wrong("tickets"))?;
        row.id = TicketId(id);
        self.tickets.push(row);
        Ok(TicketId(id))
    }

    /// Takes in a new comment's row; returns the id it is given.
    pub(crate) fn add_comment(&mut self, mut row: CommentRow) -> Result<CommentId> {
        let id = self.comment_ids.next().ok_or_else(|| counted_wrong("comments"))?;
        row.id = CommentId(id);
        self.comments.push(row);
        Ok(CommentId(id))
    }

    pub(crate) fn add_audit(&mut self, row: AuditRow) {
        self.audits.push(row);
    }

    pub(crate) fn add_tags(&mut self, ticket: TicketId, hashes: Vec<Vec<u8>>) {
        self.tags.extend(hashes.into_iter().map(|h| (ticket, h)));
    }

    /// A ticket of this batch as it will be written.
    pub(crate) fn ticket_mut(&mut self, id: TicketId) -> Option<&mut TicketRow> {
        self.tickets.iter_mut().rev().find(|t| t.id == id)
    }

    /// Starts a new ticket's index entry: subject and public text, internal notes, and the
    /// field values and external id read by staff.
    pub(crate) fn index(&mut self, id: TicketId, doc: &DocText<'_>, notes: &str, fields: &str) {
        self.docs.push(Doc {
            id,
            public: doc.public.to_string(),
            notes: notes.to_string(),
            fields: fields.to_string(),
            tags: doc.tags.to_vec(),
            external_id: doc.external_id.map(str::to_string),
        });
    }

    /// Adds a comment's text to its ticket's index entry, public or internal.
    pub(crate) fn index_comment(&mut self, id: TicketId, text: &str, public: bool) {
        if let Some(d) = self.docs.iter_mut().rev().find(|d| d.id == id) {
            let into = if public { &mut d.public } else { &mut d.notes };
            into.push(' ');
            into.push_str(text);
        }
    }

    /// Writes everything gathered, in the caller's transaction.
    pub(crate) async fn write(self, hd: &Helpdesk, c: &mut Conn, tenant: TenantId) -> Result<()> {
        suoja_store::tickets::insert_many(c, tenant, &self.tickets).await?;
        suoja_store::comments::insert_many(c, tenant, &self.comments).await?;
        suoja_store::ticket_audits::insert_many(c, tenant, &self.audits).await?;
        suoja_store::tickets::add_tag_hashes_many(c, tenant, &self.tags).await?;
        let mut entries = Vec::with_capacity(self.docs.len());
        for d in &self.docs {
            let internal = format!("{}{}", d.notes, d.fields);
            let doc = DocText {
                public: &d.public,
                internal: &internal,
                tags: &d.tags,
                external_id: d.external_id.as_deref(),
            };
            entries.push((d.id.0, crate::search::doc_tokens(&hd.vault, c, tenant, &doc).await?));
        }
        suoja_search::index::insert_many(c, tenant, DocKind::Ticket, &entries).await?;
        Ok(())
    }
}

/// A batch was made for fewer tickets or comments than it was given: a bug, refused whole.
fn counted_wrong(what: &str) -> HelpdeskError {
    HelpdeskError::Internal(format!("a batch was given more {what} than it was made for"))
}

impl Helpdesk {
    /// The person `id` (not deleted), read once per batch when there is one.
    pub(crate) async fn person(&self, c: &mut Conn, tenant: TenantId, id: UserId, field: &str, batch: Option<&mut Batch>) -> Result<UserRow> {
        let Some(batch) = batch else {
            return self.require_user(c, tenant, id, field).await;
        };
        if let Some(row) = batch.people.get(&id) {
            return Ok(row.clone());
        }
        let row = self.require_user(c, tenant, id, field).await?;
        batch.people.insert(id, row.clone());
        Ok(row)
    }

    /// The tenant's default ticket form, read once per batch when there is one.
    pub(crate) async fn default_form(&self, c: &mut Conn, tenant: TenantId, batch: Option<&mut Batch>) -> Result<Option<i64>> {
        match batch {
            Some(Batch { default_form: Some(form), .. }) => Ok(*form),
            Some(batch) => {
                let form = suoja_store::fields::default_form(c, tenant).await?;
                batch.default_form = Some(form);
                Ok(form)
            }
            None => Ok(suoja_store::fields::default_form(c, tenant).await?),
        }
    }

    /// The tenant's ticket fields, read once per batch when there is one.
    pub(crate) async fn ticket_fields_for(&self, c: &mut Conn, tenant: TenantId, batch: Option<&mut Batch>) -> Result<Vec<Field>> {
        match batch {
            Some(Batch { fields: Some(defs), .. }) => Ok(defs.clone()),
            Some(batch) => {
                let defs = self.ticket_field_defs(c, tenant).await?;
                batch.fields = Some(defs.clone());
                Ok(defs)
            }
            None => self.ticket_field_defs(c, tenant).await,
        }
    }
}
