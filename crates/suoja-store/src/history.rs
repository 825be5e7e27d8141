//! A ticket's stored history: the redactions made on it (what kind, which comment, attachment
//! or field, by whom, when). The redacted text itself is never recorded.

use crate::Conn;
use suoja_core::{TenantId, TicketId, Timestamp};

use crate::Result;
use crate::row::{i64_, opt_i64, text};

/// One history event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Id (0 before insertion).
    pub id: i64,
    /// Ticket.
    pub ticket_id: TicketId,
    /// Who did it (`None` for the retention scheduler).
    pub actor_id: Option<i64>,
    /// `comment_redaction`, `attachment_redaction`, `recording_redaction`, `subject_redaction`
    /// or `custom_field_redaction`.
    pub kind: String,
    /// The comment concerned.
    pub comment_id: Option<i64>,
    /// The attachment concerned.
    pub attachment_id: Option<i64>,
    /// The custom field concerned.
    pub field_id: Option<i64>,
    /// When.
    pub created_at: Timestamp,
}

/// Records an event.
pub async fn insert(c: &mut Conn, tenant: TenantId, e: &EventRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO ticket_events (tenant_id, ticket_id, actor_id, kind, comment_id, attachment_id, field_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(tenant.0)
    .bind(e.ticket_id.0)
    .bind(e.actor_id)
    .bind(e.kind.clone())
    .bind(e.comment_id)
    .bind(e.attachment_id)
    .bind(e.field_id)
    .bind(e.created_at.0)
    .fetch_one(c)
    .await?)
}

/// A ticket's events, oldest first.
pub async fn for_ticket(c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<Vec<EventRow>> {
    let rows = sqlx::query(
        "SELECT id, ticket_id, actor_id, kind, comment_id, attachment_id, field_id, created_at FROM ticket_events WHERE tenant_id = $1 AND ticket_id = $2 ORDER BY id",
    )
    .bind(tenant.0)
    .bind(ticket.0)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EventRow {
                id: i64_(r, "id")?,
                ticket_id: TicketId(i64_(r, "ticket_id")?),
                actor_id: opt_i64(r, "actor_id")?,
                kind: text(r, "kind")?,
                comment_id: opt_i64(r, "comment_id")?,
                attachment_id: opt_i64(r, "attachment_id")?,
                field_id: opt_i64(r, "field_id")?,
                created_at: Timestamp(i64_(r, "created_at")?),
            })
        })
        .collect()
}

/// Deletes a ticket's history (the ticket is being deleted).
pub async fn delete_for_ticket(c: &mut Conn, tenant: TenantId, ticket: TicketId) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM ticket_events WHERE tenant_id = $1 AND ticket_id = $2")
        .bind(tenant.0)
        .bind(ticket.0)
        .execute(c)
        .await?
        .rows_affected())
}
