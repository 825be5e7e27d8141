//! Outbound webhooks the operator registered (the recipients of GDPR Art. 19) and the
//! disclosure log: which recipient received which categories of whose data, when.

use crate::Conn;
use suoja_core::{TenantId, Timestamp};

use crate::Result;
use crate::row::{i64_, opt_bytes, text};

/// A registered webhook.
#[derive(Debug, Clone)]
pub struct WebhookRow {
    /// Id.
    pub id: i64,
    /// Name shown to people.
    pub name: String,
    /// URL the events are POSTed to.
    pub endpoint: String,
    /// `active` or `inactive`.
    pub status: String,
    /// JSON array of subscribed event types.
    pub subscriptions: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
    /// The salt its signing secret is derived with.
    pub signing_salt: Option<Vec<u8>>,
}

fn row(r: &sqlx::any::AnyRow) -> Result<WebhookRow> {
    Ok(WebhookRow {
        id: i64_(r, "id")?,
        signing_salt: opt_bytes(r, "signing_salt")?,
        name: text(r, "name")?,
        endpoint: text(r, "endpoint")?,
        status: text(r, "status")?,
        subscriptions: text(r, "subscriptions")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
    })
}

/// Registers a webhook.
pub async fn insert(c: &mut Conn, tenant: TenantId, w: &WebhookRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO webhooks (tenant_id, name, endpoint, status, subscriptions, created_at, updated_at, signing_salt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(tenant.0)
    .bind(w.name.clone())
    .bind(w.endpoint.clone())
    .bind(w.status.clone())
    .bind(w.subscriptions.clone())
    .bind(w.created_at.0)
    .bind(w.updated_at.0)
    .bind(w.signing_salt.clone())
    .fetch_one(c)
    .await?)
}

/// One webhook.
pub async fn by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<WebhookRow>> {
    let r =
        sqlx::query("SELECT id, name, endpoint, status, subscriptions, created_at, updated_at, signing_salt FROM webhooks WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id)
            .fetch_optional(c)
            .await?;
    r.as_ref().map(row).transpose()
}

/// Every webhook of the tenant, by id.
pub async fn list(c: &mut Conn, tenant: TenantId) -> Result<Vec<WebhookRow>> {
    let rows =
        sqlx::query("SELECT id, name, endpoint, status, subscriptions, created_at, updated_at, signing_salt FROM webhooks WHERE tenant_id = $1 ORDER BY id")
            .bind(tenant.0)
            .fetch_all(c)
            .await?;
    rows.iter().map(row).collect()
}

/// Gives a webhook a new signing salt (a new secret). Returns whether it exists.
pub async fn set_signing_salt(c: &mut Conn, tenant: TenantId, id: i64, salt: &[u8], now: Timestamp) -> Result<bool> {
    Ok(
        sqlx::query("UPDATE webhooks SET signing_salt = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(id)
            .bind(salt.to_vec())
            .bind(now.0)
            .execute(c)
            .await?
            .rows_affected()
            > 0,
    )
}

/// Removes a webhook.
pub async fn delete(c: &mut Conn, tenant: TenantId, id: i64) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(c)
        .await?
        .rows_affected()
        == 1)
}

/// One disclosure: a recipient received (or was told about) a person's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosure {
    /// The person.
    pub subject_id: i64,
    /// The webhook.
    pub recipient_id: i64,
    /// Event type sent.
    pub event: String,
    /// JSON array of data categories in the payload.
    pub categories: String,
    /// `delivered` or `failed: <status>`.
    pub outcome: String,
    /// When.
    pub at: Timestamp,
}

/// Records disclosures.
pub async fn record_disclosure(c: &mut Conn, tenant: TenantId, d: &Disclosure) -> Result<()> {
    sqlx::query("INSERT INTO disclosures (tenant_id, subject_id, recipient_id, event, categories, outcome, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(tenant.0)
        .bind(d.subject_id)
        .bind(d.recipient_id)
        .bind(d.event.clone())
        .bind(d.categories.clone())
        .bind(d.outcome.clone())
        .bind(d.at.0)
        .execute(c)
        .await?;
    Ok(())
}

/// A person's disclosure log, oldest first.
pub async fn disclosures_for(c: &mut Conn, tenant: TenantId, subject: i64) -> Result<Vec<Disclosure>> {
    let rows = sqlx::query(
        "SELECT subject_id, recipient_id, event, categories, outcome, at FROM disclosures WHERE tenant_id = $1 AND subject_id = $2 ORDER BY at, id",
    )
    .bind(tenant.0)
    .bind(subject)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Disclosure {
                subject_id: i64_(r, "subject_id")?,
                recipient_id: i64_(r, "recipient_id")?,
                event: text(r, "event")?,
                categories: text(r, "categories")?,
                outcome: text(r, "outcome")?,
                at: Timestamp(i64_(r, "at")?),
            })
        })
        .collect()
}

/// Recipients that received data of a person (delivered data events).
pub async fn recipients_of(c: &mut Conn, tenant: TenantId, subject: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT recipient_id FROM disclosures WHERE tenant_id = $1 AND subject_id = $2 AND event NOT LIKE 'subject.%' AND outcome = 'delivered' ORDER BY recipient_id",
    )
    .bind(tenant.0)
    .bind(subject)
    .fetch_all(c)
    .await?)
}
