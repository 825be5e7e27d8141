//! Schema introspection: the live tables and columns, read from the engine's catalogue. The
//! data-map completeness test and the migration parity test compare against this.

use sqlx::Row as _;

use crate::{Db, Engine, Result};

/// One column of the live schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Column {
    /// Table name.
    pub table: String,
    /// Column name.
    pub column: String,
}

/// Every column of every application table (migration bookkeeping excluded).
pub async fn columns(db: &Db) -> Result<Vec<Column>> {
    let mut conn = db.read().await?;
    let mut out = Vec::new();
    match db.engine() {
        Engine::Sqlite => {
            let tables =
                sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name")
                    .fetch_all(&mut *conn)
                    .await?;
            for t in tables {
                let table: String = t.try_get("name")?;
                let cols = sqlx::query("SELECT name FROM pragma_table_info($1)")
                    .bind(table.clone())
                    .fetch_all(&mut *conn)
                    .await?;
                for c in cols {
                    out.push(Column {
                        table: table.clone(),
                        column: c.try_get("name")?,
                    });
                }
            }
        }
        Engine::Postgres => {
            let rows = sqlx::query(
                "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'",
            )
            .fetch_all(&mut *conn)
            .await?;
            for r in rows {
                out.push(Column {
                    table: r.try_get("t")?,
                    column: r.try_get("c")?,
                });
            }
        }
    }
    out.sort();
    Ok(out)
}
