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
            for table in sqlite_tables(&mut conn).await? {
                if table == "schema_migrations" {
                    continue;
                }
                let cols = sqlx::query("SELECT name FROM pragma_table_info($1)")
                    .bind(table.clone())
                    .fetch_all(&mut conn)
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
            .fetch_all(&mut conn)
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

/// The application's tables on SQLite, by name: SQLite's own and a full-text table's shadow
/// tables (`search_index_data`, `…_content`…, its storage, described by its own columns) left out.
pub(crate) async fn sqlite_tables<C>(c: &mut C) -> Result<Vec<String>>
where
    C: Send,
    for<'a> &'a mut C: sqlx::Executor<'a, Database = sqlx::Any>,
{
    let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .fetch_all(&mut *c)
        .await?;
    let virtual_tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'")
        .fetch_all(&mut *c)
        .await?;
    Ok(tables
        .into_iter()
        .filter(|t| !virtual_tables.iter().any(|v| t.starts_with(&format!("{v}_"))))
        .collect())
}
