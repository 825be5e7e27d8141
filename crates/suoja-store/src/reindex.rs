//! What a full re-index of the search index visits: the live users, every organisation, every
//! ticket and every live help center article of a tenant, in id order. (The index itself is `suoja_search::index`.)

use crate::Conn;
use suoja_core::TenantId;

use crate::Result;
use crate::row::{bool_, bytes, i64_, opt_bytes};

/// Ids of the documents a full re-index visits, after `after`: live users, every organisation,
/// every ticket (the trash included), live articles.
pub async fn source_ids(c: &mut Conn, tenant: TenantId, table: &str, after: i64, limit: i64) -> Result<Vec<i64>> {
    let sql = match table {
        "users" => "SELECT id FROM users WHERE tenant_id = $1 AND id > $2 AND deleted_at IS NULL ORDER BY id LIMIT $3",
        "organizations" => "SELECT id FROM organizations WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        "tickets" => "SELECT id FROM tickets WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        "hc_articles" => "SELECT id FROM hc_articles WHERE tenant_id = $1 AND id > $2 AND archived_at IS NULL ORDER BY id LIMIT $3",
        _ => return Err(crate::StoreError::Config(format!("{table} is not indexed"))),
    };
    Ok(sqlx::query_scalar(sql).bind(tenant.0).bind(after).bind(limit).fetch_all(c).await?)
}

/// A ticket's sealed text as the index reads it: its subject, its tags and every comment's
/// body with whether it is public, in creation order.
#[derive(Debug, Clone)]
pub struct TicketText {
    pub id: i64,
    pub subject_enc: Option<Vec<u8>>,
    pub tags_enc: Vec<u8>,
    /// The external id, sealed.
    pub external_id_enc: Option<Vec<u8>>,
    /// The custom field values, sealed.
    pub custom_fields_enc: Vec<u8>,
    /// (public, sealed body) of each comment.
    pub comments: Vec<(bool, Vec<u8>)>,
    /// (events, sealed values) of each of its audits that keeps values it replaced.
    pub audits: Vec<(String, Vec<u8>)>,
}

/// The sealed text of up to `limit` tickets after `after` (the trash included), in id order, in
/// two queries whatever their number (the rebuild after a restore reads every ticket this way).
pub async fn ticket_texts(c: &mut Conn, tenant: TenantId, after: i64, limit: i64) -> Result<Vec<TicketText>> {
    let rows =
        sqlx::query("SELECT id, subject_enc, tags_enc, external_id_enc, custom_fields_enc FROM tickets WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3")
            .bind(tenant.0)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(TicketText {
            id: i64_(r, "id")?,
            subject_enc: opt_bytes(r, "subject_enc")?,
            tags_enc: bytes(r, "tags_enc")?,
            external_id_enc: opt_bytes(r, "external_id_enc")?,
            custom_fields_enc: bytes(r, "custom_fields_enc")?,
            comments: Vec::new(),
            audits: Vec::new(),
        });
    }
    let (Some(first), Some(last)) = (out.first().map(|t| t.id), out.last().map(|t| t.id)) else {
        return Ok(out);
    };
    let comments = sqlx::query("SELECT ticket_id, public, body_enc FROM comments WHERE tenant_id = $1 AND ticket_id BETWEEN $2 AND $3 ORDER BY ticket_id, id")
        .bind(tenant.0)
        .bind(first)
        .bind(last)
        .fetch_all(&mut *c)
        .await?;
    attach(&mut out, &comments, |t, r| {
        t.comments.push((bool_(r, "public")?, bytes(r, "body_enc")?));
        Ok(())
    })?;
    let audits = sqlx::query(
        "SELECT ticket_id, events, values_enc FROM ticket_audits WHERE tenant_id = $1 AND ticket_id BETWEEN $2 AND $3 AND values_enc IS NOT NULL ORDER BY ticket_id, id",
    )
    .bind(tenant.0)
    .bind(first)
    .bind(last)
    .fetch_all(&mut *c)
    .await?;
    attach(&mut out, &audits, |t, r| {
        t.audits.push((crate::row::text(r, "events")?, bytes(r, "values_enc")?));
        Ok(())
    })?;
    Ok(out)
}

/// Hands each of `rows` (ordered by `ticket_id`) to the ticket of `out` (ordered by id) it
/// belongs to, in one pass over both.
fn attach(out: &mut [TicketText], rows: &[sqlx::any::AnyRow], mut add: impl FnMut(&mut TicketText, &sqlx::any::AnyRow) -> Result<()>) -> Result<()> {
    let mut at = 0;
    for r in rows {
        let ticket = i64_(r, "ticket_id")?;
        while out.get(at).is_some_and(|t| t.id < ticket) {
            at += 1;
        }
        if let Some(t) = out.get_mut(at).filter(|t| t.id == ticket) {
            add(t, r)?;
        }
    }
    Ok(())
}
