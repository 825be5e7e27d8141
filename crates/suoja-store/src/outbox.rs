//! Messages waiting to be sent to people (verification links, notices). Bodies are ciphertext
//! under the recipient's key; the address is looked up from the user when sending.

use crate::Conn;
use suoja_core::{TenantId, Timestamp};

use crate::Result;
use crate::row::{bytes, i64_, text};

/// A queued message.
#[derive(Debug, Clone)]
pub struct MessageRow {
    /// Id.
    pub id: i64,
    /// Recipient user id.
    pub user_id: i64,
    /// What it is (`verification_link`, `request_extended`, …).
    pub kind: String,
    /// Sealed body.
    pub body_enc: Vec<u8>,
    /// Queued.
    pub created_at: Timestamp,
}

/// Queues a message.
pub async fn insert(c: &mut Conn, tenant: TenantId, user: i64, kind: &str, body_enc: Vec<u8>, now: Timestamp) -> Result<i64> {
    Ok(
        sqlx::query_scalar("INSERT INTO mail_outbox (tenant_id, user_id, kind, body_enc, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(tenant.0)
            .bind(user)
            .bind(kind.to_string())
            .bind(body_enc)
            .bind(now.0)
            .fetch_one(c)
            .await?,
    )
}

/// Messages queued for one person, oldest first.
pub async fn for_user(c: &mut Conn, tenant: TenantId, user: i64) -> Result<Vec<MessageRow>> {
    let rows = sqlx::query("SELECT id, user_id, kind, body_enc, created_at FROM mail_outbox WHERE tenant_id = $1 AND user_id = $2 ORDER BY id")
        .bind(tenant.0)
        .bind(user)
        .fetch_all(c)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(MessageRow {
                id: i64_(r, "id")?,
                user_id: i64_(r, "user_id")?,
                kind: text(r, "kind")?,
                body_enc: bytes(r, "body_enc")?,
                created_at: Timestamp(i64_(r, "created_at")?),
            })
        })
        .collect()
}
