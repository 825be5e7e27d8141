//! The consultation log: which staff role read a person's data, when and why (GDPR Art. 15(1),
//! CJEU C-579/21). Rows hold opaque ids and fixed vocabulary, never personal values.

use crate::Conn;
use suoja_core::{TenantId, Timestamp};

use crate::Result;
use crate::row::{i64_, text};

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
}

/// Records reads, one row per subject, in one statement.
pub async fn record(c: &mut Conn, tenant: TenantId, rows: &[Consultation]) -> Result<()> {
    for chunk in rows.chunks(100) {
        let mut sql = String::from("INSERT INTO consultations (tenant_id, subject_id, at, actor_id, actor_role, action, purpose) VALUES ");
        for i in 0..chunk.len() {
            let b = i * 7;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${}, ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7));
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
                .bind(r.purpose.clone());
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

/// A person's consultation log, oldest first.
pub async fn for_subject(c: &mut Conn, tenant: TenantId, subject: i64) -> Result<Vec<Consultation>> {
    let rows =
        sqlx::query("SELECT subject_id, at, actor_id, actor_role, action, purpose FROM consultations WHERE tenant_id = $1 AND subject_id = $2 ORDER BY at, id")
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
            })
        })
        .collect()
}
