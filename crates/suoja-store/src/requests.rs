//! Data-subject requests and their identity checks. Reasons and requested changes are
//! ciphertext under the person's key (`details_enc`); `withheld` is a JSON summary of ids,
//! counts and reason codes only.

use crate::Conn;
use suoja_core::{KeyId, RequestKind, RequestStatus, TenantId, Timestamp};

use crate::Result;
use crate::row::{bytes, i64_, opt_bytes, opt_i64, opt_text, text};

/// A request as stored.
#[derive(Debug, Clone)]
pub struct RequestRow {
    /// Id.
    pub id: i64,
    /// The person (user id).
    pub subject_id: i64,
    /// What the person asks for.
    pub kind: RequestKind,
    /// `portal`, `api`, `agent`, `email`, `phone`, `letter`.
    pub channel: String,
    /// Where it stands.
    pub status: RequestStatus,
    /// Staff member who opened it, if any.
    pub opened_by: Option<i64>,
    /// When it reached us (the channel's time).
    pub received_at: Timestamp,
    /// Current due time.
    pub due_at: Timestamp,
    /// Due time before any extension.
    pub original_due_at: Timestamp,
    /// When it was extended.
    pub extended_at: Option<Timestamp>,
    /// When the person's identity was confirmed.
    pub verified_at: Option<Timestamp>,
    /// `session`, `email_link` or `staff`.
    pub verification: Option<String>,
    /// When it was fulfilled or refused.
    pub closed_at: Option<Timestamp>,
    /// Refusal or outcome code.
    pub outcome_code: Option<String>,
    /// Key sealing `details_enc` (the person's key).
    pub key_id: KeyId,
    /// Sealed JSON: reasons, requested changes.
    pub details_enc: Option<Vec<u8>>,
    /// JSON summary of withheld items (ids, counts, reason codes).
    pub withheld: String,
    /// Created.
    pub created_at: Timestamp,
    /// Last changed.
    pub updated_at: Timestamp,
}

const COLS: &str = "id, subject_id, kind, channel, status, opened_by, received_at, due_at, original_due_at, extended_at, verified_at, verification, closed_at, outcome_code, key_id, details_enc, withheld, created_at, updated_at";

fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp)
}

fn row(r: &sqlx::any::AnyRow) -> Result<RequestRow> {
    Ok(RequestRow {
        id: i64_(r, "id")?,
        subject_id: i64_(r, "subject_id")?,
        kind: RequestKind::parse(&text(r, "kind")?).map_err(|_| crate::StoreError::Corrupt("requests.kind".into()))?,
        channel: text(r, "channel")?,
        status: RequestStatus::parse(&text(r, "status")?).map_err(|_| crate::StoreError::Corrupt("requests.status".into()))?,
        opened_by: opt_i64(r, "opened_by")?,
        received_at: Timestamp(i64_(r, "received_at")?),
        due_at: Timestamp(i64_(r, "due_at")?),
        original_due_at: Timestamp(i64_(r, "original_due_at")?),
        extended_at: ts(opt_i64(r, "extended_at")?),
        verified_at: ts(opt_i64(r, "verified_at")?),
        verification: opt_text(r, "verification")?,
        closed_at: ts(opt_i64(r, "closed_at")?),
        outcome_code: opt_text(r, "outcome_code")?,
        key_id: KeyId(i64_(r, "key_id")?),
        details_enc: opt_bytes(r, "details_enc")?,
        withheld: text(r, "withheld")?,
        created_at: Timestamp(i64_(r, "created_at")?),
        updated_at: Timestamp(i64_(r, "updated_at")?),
    })
}

/// Stores a new request; returns its id.
pub async fn insert(c: &mut Conn, tenant: TenantId, q: &RequestRow) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "INSERT INTO privacy_requests (tenant_id, {}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) RETURNING id",
        COLS.trim_start_matches("id, ")
    )))
    .bind(tenant.0)
    .bind(q.subject_id)
    .bind(q.kind.as_str())
    .bind(q.channel.clone())
    .bind(q.status.as_str())
    .bind(q.opened_by)
    .bind(q.received_at.0)
    .bind(q.due_at.0)
    .bind(q.original_due_at.0)
    .bind(q.extended_at.map(|t| t.0))
    .bind(q.verified_at.map(|t| t.0))
    .bind(q.verification.clone())
    .bind(q.closed_at.map(|t| t.0))
    .bind(q.outcome_code.clone())
    .bind(q.key_id.0)
    .bind(q.details_enc.clone())
    .bind(q.withheld.clone())
    .bind(q.created_at.0)
    .bind(q.updated_at.0)
    .fetch_one(c)
    .await?;
    Ok(id)
}

/// Saves every mutable field of a request.
pub async fn update(c: &mut Conn, tenant: TenantId, q: &RequestRow) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE privacy_requests SET status = $3, due_at = $4, extended_at = $5, verified_at = $6, verification = $7, closed_at = $8, outcome_code = $9, details_enc = $10, withheld = $11, updated_at = $12 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.0)
    .bind(q.id)
    .bind(q.status.as_str())
    .bind(q.due_at.0)
    .bind(q.extended_at.map(|t| t.0))
    .bind(q.verified_at.map(|t| t.0))
    .bind(q.verification.clone())
    .bind(q.closed_at.map(|t| t.0))
    .bind(q.outcome_code.clone())
    .bind(q.details_enc.clone())
    .bind(q.withheld.clone())
    .bind(q.updated_at.0)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One request.
pub async fn by_id(c: &mut Conn, tenant: TenantId, id: i64) -> Result<Option<RequestRow>> {
    let r = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM privacy_requests WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(c)
    .await?;
    r.as_ref().map(row).transpose()
}

/// The inbox: open requests first, soonest due first; then closed ones, newest first.
pub async fn list(c: &mut Conn, tenant: TenantId, subject: Option<i64>, open_only: bool, limit: i64, offset: i64) -> Result<Vec<RequestRow>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM privacy_requests WHERE tenant_id = $1 AND ($2 = 0 OR subject_id = $3) AND ($4 = 0 OR closed_at IS NULL) \
         ORDER BY CASE WHEN closed_at IS NULL THEN 0 ELSE 1 END, CASE WHEN closed_at IS NULL THEN due_at ELSE -closed_at END, id LIMIT $5 OFFSET $6"
    )))
    .bind(tenant.0)
    .bind(i64::from(subject.is_some()))
    .bind(subject.unwrap_or(0))
    .bind(i64::from(open_only))
    .bind(limit)
    .bind(offset)
    .fetch_all(c)
    .await?;
    rows.iter().map(row).collect()
}

/// How many requests the inbox holds.
pub async fn count(c: &mut Conn, tenant: TenantId, subject: Option<i64>, open_only: bool) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM privacy_requests WHERE tenant_id = $1 AND ($2 = 0 OR subject_id = $3) AND ($4 = 0 OR closed_at IS NULL)")
            .bind(tenant.0)
            .bind(i64::from(subject.is_some()))
            .bind(subject.unwrap_or(0))
            .bind(i64::from(open_only))
            .fetch_one(c)
            .await?,
    )
}

/// An identity-check link as stored (the token only as a hash).
#[derive(Debug, Clone)]
pub struct VerificationRow {
    /// Id.
    pub id: i64,
    /// The request it confirms.
    pub request_id: i64,
    /// The person.
    pub subject_id: i64,
    /// The random reference the link names (links made before schema v8 have none).
    pub reference: Option<String>,
    /// SHA-256 of the link's secret.
    pub token_hash: Vec<u8>,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Wrong tokens tried against this link.
    pub attempts: i64,
    /// When it was used.
    pub used_at: Option<Timestamp>,
    /// Created.
    pub created_at: Timestamp,
}

/// Stores a link.
pub async fn insert_verification(c: &mut Conn, tenant: TenantId, v: &VerificationRow) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO privacy_verifications (tenant_id, request_id, subject_id, token_hash, expires_at, attempts, used_at, created_at, reference) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(tenant.0)
    .bind(v.request_id)
    .bind(v.subject_id)
    .bind(v.token_hash.clone())
    .bind(v.expires_at.0)
    .bind(v.attempts)
    .bind(v.used_at.map(|t| t.0))
    .bind(v.created_at.0)
    .bind(v.reference.clone())
    .fetch_one(c)
    .await?)
}

const VERIFICATION_COLS: &str = "id, request_id, subject_id, reference, token_hash, expires_at, attempts, used_at, created_at";

fn verification_row(r: &sqlx::any::AnyRow) -> Result<VerificationRow> {
    Ok(VerificationRow {
        id: i64_(r, "id")?,
        request_id: i64_(r, "request_id")?,
        subject_id: i64_(r, "subject_id")?,
        reference: opt_text(r, "reference")?,
        token_hash: bytes(r, "token_hash")?,
        expires_at: Timestamp(i64_(r, "expires_at")?),
        attempts: i64_(r, "attempts")?,
        used_at: ts(opt_i64(r, "used_at")?),
        created_at: Timestamp(i64_(r, "created_at")?),
    })
}

/// The newest link of a request.
pub async fn latest_verification(c: &mut Conn, tenant: TenantId, request: i64) -> Result<Option<VerificationRow>> {
    let sql = format!("SELECT {VERIFICATION_COLS} FROM privacy_verifications WHERE tenant_id = $1 AND request_id = $2 ORDER BY id DESC LIMIT 1");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(request).fetch_optional(c).await?;
    r.as_ref().map(verification_row).transpose()
}

/// The link with this reference, in this tenant.
pub async fn verification_by_reference(c: &mut Conn, tenant: TenantId, reference: &str) -> Result<Option<VerificationRow>> {
    let sql = format!("SELECT {VERIFICATION_COLS} FROM privacy_verifications WHERE tenant_id = $1 AND reference = $2");
    let r = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.0).bind(reference).fetch_optional(c).await?;
    r.as_ref().map(verification_row).transpose()
}

/// Records a wrong attempt or the use of a link.
pub async fn update_verification(c: &mut Conn, tenant: TenantId, id: i64, attempts: i64, used_at: Option<Timestamp>) -> Result<()> {
    sqlx::query("UPDATE privacy_verifications SET attempts = $3, used_at = $4 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.0)
        .bind(id)
        .bind(attempts)
        .bind(used_at.map(|t| t.0))
        .execute(c)
        .await?;
    Ok(())
}

/// Links sent to a person since `since` (for the per-person rate limit).
pub async fn verifications_since(c: &mut Conn, tenant: TenantId, subject: i64, since: Timestamp) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM privacy_verifications WHERE tenant_id = $1 AND subject_id = $2 AND created_at >= $3")
            .bind(tenant.0)
            .bind(subject)
            .bind(since.0)
            .fetch_one(c)
            .await?,
    )
}
