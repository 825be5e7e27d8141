//! Opening stored tickets for a reader: who may see a ticket, and its fields unsealed (or, for
//! a ticket just created, taken from what its request sealed: [`ticket_of`]).

use serde_json::Value;
use suoja_core::{Personal, Scope, TenantId, TicketId};
use suoja_store::Conn;
use suoja_store::tickets::TicketRow;

use crate::model::Ticket;
use crate::{Helpdesk, HelpdeskError, Result, crypt};

impl Helpdesk {
    /// A live ticket's row, if the scope may see it; otherwise not found (whether it exists or
    /// not).
    pub(crate) async fn visible_row(&self, c: &mut Conn, scope: &Scope, id: suoja_core::TicketId) -> Result<TicketRow> {
        let row = suoja_store::tickets::by_id(c, scope.tenant, id).await?;
        self.visible(c, scope, row).await
    }

    /// [`Self::visible_row`] for a change: the row is locked until the caller's transaction
    /// ends (see `suoja_store::tickets::by_id_for_update`).
    pub(crate) async fn visible_row_for_update(&self, c: &mut Conn, scope: &Scope, id: suoja_core::TicketId) -> Result<TicketRow> {
        let row = suoja_store::tickets::by_id_for_update(c, scope.tenant, id).await?;
        self.visible(c, scope, row).await
    }

    pub(crate) async fn visible(&self, c: &mut Conn, scope: &Scope, row: Option<TicketRow>) -> Result<TicketRow> {
        let row = row.filter(|t| t.deleted_at.is_none()).ok_or(crate::HelpdeskError::NotFound("Ticket"))?;
        if !self.can_see(c, scope, &row).await? {
            return Err(crate::HelpdeskError::NotFound("Ticket"));
        }
        Ok(row)
    }

    /// Whether the scope may see a ticket: staff always; end users when they requested it or are
    /// CC'd on it.
    pub async fn can_see(&self, c: &mut Conn, scope: &Scope, row: &TicketRow) -> Result<bool> {
        if row.restricted && scope.is_staff() {
            // Restricted (GDPR Art. 18): staff reach it only through the privacy console, with a reason.
            return Ok(false);
        }
        if scope.is_staff() || row.requester_id == scope.actor {
            return Ok(true);
        }
        let links = suoja_store::tickets::collaborators(c, scope.tenant, &[row.id]).await?;
        Ok(links.iter().any(|(_, u, k)| *u == scope.actor && k != "follower"))
    }

    pub(crate) async fn open_ticket_row(&self, c: &mut Conn, t: TenantId, r: &TicketRow) -> Result<Ticket> {
        let v = &self.vault;
        let custom: Vec<(i64, Value)> = crypt::open_json(v, c, t, &r.custom_fields_enc).await?;
        Ok(ticket_of(
            r,
            Unsealed {
                subject: crypt::open_opt(v, c, t, r.subject_enc.as_deref()).await?,
                description: crypt::open(v, c, t, &r.description_enc).await?,
                tags: crypt::open_json(v, c, t, &r.tags_enc).await?,
                custom_fields: Personal::new(custom),
                external_id: crypt::open_opt(v, c, t, r.external_id_enc.as_deref()).await?,
            },
        ))
    }

    pub async fn open_ticket_full(&self, c: &mut Conn, scope: &Scope, r: &TicketRow) -> Result<Ticket> {
        let mut v = self.open_tickets(c, scope, std::slice::from_ref(r)).await?;
        v.pop().ok_or(HelpdeskError::Internal("ticket vanished".into()))
    }

    /// Opens tickets with their CC and follower links, as `scope` may see them: an end user's
    /// description is the first public comment, never a private one.
    pub(crate) async fn open_tickets(&self, c: &mut Conn, scope: &Scope, rows: &[TicketRow]) -> Result<Vec<Ticket>> {
        let t = scope.tenant;
        let ids: Vec<TicketId> = rows.iter().map(|r| r.id).collect();
        let links = suoja_store::tickets::collaborators(c, t, &ids).await?;
        let ratings = suoja_store::satisfaction::for_tickets(c, t, &ids).await?;
        // Requesters see only the fields visible in the portal.
        let visible = if scope.is_staff() { None } else { Some(self.portal_visible_ids(c, t).await?) };
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut ticket = self.open_ticket_row(c, t, r).await?;
            for (tid, u, kind) in &links {
                if *tid == r.id {
                    match kind.as_str() {
                        "collaborator" => ticket.collaborator_ids.push(*u),
                        "email_cc" => ticket.email_cc_ids.push(*u),
                        _ => ticket.follower_ids.push(*u),
                    }
                }
            }
            // A rating is the requester's: staff and they read it, a CC does not.
            if let Some(rating) = ratings.iter().find(|x| x.ticket_id == r.id)
                && (scope.is_staff() || scope.actor == r.requester_id)
            {
                let comment = match &rating.comment_enc {
                    Some(s) => Some(crypt::open(&self.vault, c, t, s).await?),
                    None => None,
                };
                ticket.satisfaction = Some((rating.id, rating.score.clone(), comment));
            }
            if let Some(visible) = &visible {
                ticket.description = self.public_description(c, t, r).await?;
                // Tags are staff's labels (fields hidden from requesters put theirs there too, and
                // keep them after the field changes): requesters see none, as in Zendesk.
                ticket.tags.clear();
                let shown: Vec<(i64, Value)> = ticket.custom_fields.expose().iter().filter(|(id, _)| visible.contains(id)).cloned().collect();
                ticket.custom_fields = Personal::new(shown);
            }
            out.push(ticket);
        }
        Ok(out)
    }

    /// What a ticket's requester and CCs read as its description (Zendesk shows end users no
    /// private comment): the first comment when it is public, else the first public comment's
    /// text, else nothing.
    pub async fn public_description(&self, c: &mut Conn, t: TenantId, r: &TicketRow) -> Result<Personal<String>> {
        use suoja_store::comments::CommentQuery;
        let first = suoja_store::comments::for_ticket(c, t, r.id, CommentQuery { limit: 1, ..CommentQuery::ALL }).await?;
        if first.first().is_some_and(|m| m.public) {
            return crypt::open(&self.vault, c, t, &r.description_enc).await;
        }
        let public = suoja_store::comments::for_ticket(
            c,
            t,
            r.id,
            CommentQuery {
                public_only: true,
                limit: 1,
                ..CommentQuery::ALL
            },
        )
        .await?;
        match public.first() {
            Some(m) => crypt::open(&self.vault, c, t, &m.body_enc).await,
            None => Ok(Personal::new(String::new())),
        }
    }
}

/// A ticket row's sealed values in the clear: what [`Helpdesk::open_ticket_row`] unseals, or
/// what the creating request sealed (a new ticket need not be unsealed again).
pub(crate) struct Unsealed {
    pub subject: Option<Personal<String>>,
    pub description: Personal<String>,
    pub tags: Vec<String>,
    pub custom_fields: crate::model::CustomFields,
    pub external_id: Option<Personal<String>>,
}

/// The ticket of a row and its values in the clear, without its CC and follower links.
pub(crate) fn ticket_of(r: &TicketRow, u: Unsealed) -> Ticket {
    Ticket {
        id: r.id,
        requester_id: r.requester_id,
        submitter_id: r.submitter_id,
        assignee_id: r.assignee_id,
        group_id: r.group_id,
        organization_id: r.organization_id,
        subject: u.subject,
        description: u.description,
        status: r.status,
        priority: r.priority.as_deref().and_then(|p| suoja_core::Priority::parse(p).ok()),
        ticket_type: r.ticket_type.as_deref().and_then(|p| suoja_core::TicketType::parse(p).ok()),
        tags: u.tags,
        custom_fields: u.custom_fields,
        ticket_form_id: r.ticket_form_id,
        satisfaction: None,
        external_id: u.external_id,
        due_at: r.due_at,
        via: r.via.clone(),
        collaborator_ids: Vec::new(),
        email_cc_ids: Vec::new(),
        follower_ids: Vec::new(),
        created_at: r.created_at,
        updated_at: r.updated_at,
        deleted_at: r.deleted_at,
        deleted_by: r.deleted_by,
    }
}
