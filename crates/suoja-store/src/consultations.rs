//! The consultation log: which staff role read a person's data, when and why (GDPR Art. 15(1),
//! CJEU C-579/21). Rows hold opaque ids and fixed vocabulary, never personal values.

use crate::Conn;
use suoja_core::{TenantId, Timestamp};

use crate::Result;
use crate::row::{i64_, opt_i64, opt_text, text};

/// One read of a person's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consultation {
    /// The person whose data was read.
    pub subject_id: i64,
    /// When.
    pub at: Timestamp,
    /// Who read it (withheld from the person by default).
    pub actor_id: i64,
    /// The reader's role (`agent`, `admin`, `privacy officer`, `system`).
    pub actor_role: String,
    /// What was read (`ticket.viewed`, `user.viewed`, `export.built`, …).
    pub action: String,
    /// Why (`support`, `privacy request`, or the reason a privacy officer gave).
    pub purpose: String,
    /// The API or OAuth token the reader used, if any (what scopes a breach to a token).
    pub token_id: Option<i64>,
    /// The Suoja node that served the read (its `node_name`; none in rows older than v27).
    pub node: Option<String>,
}

/// Records reads, one row per subject, in one statement.
pub async fn record(c: &mut Conn, tenant: TenantId, rows: &[Consultation]) -> Result<()> {
    for chunk in rows.chunks(100) {
        let mut sql = String::from("INSERT INTO consultations (tenant_id, subject_id, at, actor_id, actor_role, action, purpose, token_id, node) VALUES ");
        for i in 0..chunk.len() {
            let b = i * 9;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9
            ));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(tenant.0)
                .bind(r.subject_id)
                .bind(r.at.0)
                .bind(r.actor_id)
                .bind(r.actor_role.clone())
                .bind(r.action.clone())
                .bind(r.purpose.clone())
                .bind(r.token_id)
                .bind(r.node.clone());
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

/// A person's consultation log, oldest first.
pub async fn for_subject(c: &mut Conn, tenant: TenantId, subject: i64) -> Result<Vec<Consultation>> {
    let rows = sqlx::query(
        "SELECT subject_id, at, actor_id, actor_role, action, purpose, token_id, node FROM consultations WHERE tenant_id = $1 AND subject_id = $2 ORDER BY at, id",
    )
    .bind(tenant.0)
    .bind(subject)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Consultation {
                subject_id: i64_(r, "subject_id")?,
                at: Timestamp(i64_(r, "at")?),
                actor_id: i64_(r, "actor_id")?,
                actor_role: text(r, "actor_role")?,
                action: text(r, "action")?,
                purpose: text(r, "purpose")?,
                token_id: opt_i64(r, "token_id")?,
                node: opt_text(r, "node")?,
            })
        })
        .collect()
}

/// Whose reads to look up for a breach: one token's, one staff member's (any credential), or
/// everything one node served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader<'a> {
    /// Reads made with this API or OAuth token.
    Token(i64),
    /// Reads made by this staff member.
    Actor(i64),
    /// Reads served by the node of this name.
    Node(&'a str),
}

/// The people whose data `reader` read from `from` to `to` (inclusive), each with the actions
/// (`ticket.viewed`, …) and how many reads: what a breach of that credential exposed.
pub async fn read_by(c: &mut Conn, tenant: TenantId, reader: Reader<'_>, from: Timestamp, to: Timestamp) -> Result<Vec<(i64, String, i64)>> {
    let column = match reader {
        Reader::Token(_) => "token_id",
        Reader::Actor(_) => "actor_id",
        Reader::Node(_) => "node",
    };
    let q = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT subject_id, action, COUNT(*) AS n FROM consultations WHERE tenant_id = $1 AND {column} = $2 AND at >= $3 AND at <= $4 \
         GROUP BY subject_id, action ORDER BY subject_id, action"
    )))
    .bind(tenant.0);
    let q = match reader {
        Reader::Token(id) | Reader::Actor(id) => q.bind(id),
        Reader::Node(name) => q.bind(name.to_string()),
    };
    let rows = q.bind(from.0).bind(to.0).fetch_all(c).await?;
    rows.iter().map(|r| Ok((i64_(r, "subject_id")?, text(r, "action")?, i64_(r, "n")?))).collect()
}

/// Whether any read served by this node was ever recorded (a node's name is only known by its
/// reads: nodes are not registered anywhere).
pub async fn node_seen(c: &mut Conn, tenant: TenantId, node: &str) -> Result<bool> {
    let n: Option<i64> = sqlx::query_scalar("SELECT 1 FROM consultations WHERE tenant_id = $1 AND node = $2 LIMIT 1")
        .bind(tenant.0)
        .bind(node.to_string())
        .fetch_optional(c)
        .await?;
    Ok(n.is_some())
}

/// Whether any read with this token was ever recorded (a revoked token's reads stay findable).
pub async fn token_seen(c: &mut Conn, tenant: TenantId, token: i64) -> Result<bool> {
    let n: Option<i64> = sqlx::query_scalar("SELECT 1 FROM consultations WHERE tenant_id = $1 AND token_id = $2 LIMIT 1")
        .bind(tenant.0)
        .bind(token)
        .fetch_optional(c)
        .await?;
    Ok(n.is_some())
}
